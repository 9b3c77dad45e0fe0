import { run } from './screen.bench.js';
const t = Date.now();
const orig = console.log;
run().then((rows) => { for (const r of rows) orig(JSON.stringify(r)); orig('total', Date.now() - t); });
