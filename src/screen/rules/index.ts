import { addressedRules } from './addressed.js';
import { envelopeRules } from './envelope.js';
import { exfiltrationRules } from './exfiltration.js';
import { extractionRules } from './extraction.js';
import { impersonationRules } from './impersonation.js';
import { jailbreakRules } from './jailbreak.js';
import { multilingualRules } from './multilingual.js';
import { outputRules } from './output.js';
import { overrideRules } from './override.js';
import { pressureRules } from './pressure.js';
import type { Rule } from './rule.js';
import { toolRules } from './tools.js';

export type { Rule } from './rule.js';

/** The whole phrase-rule catalogue, in family order. Ids are unique and stable. */
export const RULES: readonly Rule[] = [
  ...overrideRules,
  ...impersonationRules,
  ...extractionRules,
  ...jailbreakRules,
  ...exfiltrationRules,
  ...toolRules,
  ...addressedRules,
  ...envelopeRules,
  ...pressureRules,
  ...outputRules,
  ...multilingualRules,
];
