import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigSchema } from '../src/config/schema.js';

/** Writes schema/gatehouse.schema.json from the zod schema, the single source of truth. */
const schema = {
  ...z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }),
  $id: 'https://gatehouse.dev/schema/gatehouse.schema.json',
  title: 'Gatehouse configuration (gatehouse.yaml)',
};
writeFileSync(new URL('../schema/gatehouse.schema.json', import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
console.log('wrote schema/gatehouse.schema.json');
