// Copies files tsc does not emit (the dashboard's HTML, JS and CSS) next to the compiled code.
import { cpSync } from 'node:fs';

cpSync(new URL('../src/server/dashboard/', import.meta.url), new URL('../dist/server/dashboard/', import.meta.url), {
  recursive: true,
});
