// Layering of the pipeline (docs/architecture.md, "Floors of imports"); run by `npm run lint`.
const STAGES = '(identity|screen|policy|approvals|sandbox|redact|credentials|monitor|response|flow)';
module.exports = {
  forbidden: [
    // Cycles that load eagerly; a lazy `import()` or a type-only import breaks the cycle at load time.
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: {
        circular: true,
        dependencyTypesNot: ['type-only', 'dynamic-import'],
        viaOnly: { dependencyTypesNot: ['type-only', 'dynamic-import'] },
      },
    },
    { name: 'core-imports-no-stage', severity: 'error', from: { path: '^src/core/' }, to: { path: `^src/(?!core/)` } },
    {
      name: 'stage-to-other-stage',
      severity: 'error',
      from: { path: `^src/${STAGES}/` },
      to: { path: `^src/${STAGES}/`, pathNot: '^src/$1/' },
    },
    {
      name: 'stage-to-surface',
      severity: 'error',
      from: { path: `^src/${STAGES}/` },
      to: { path: '^src/(cli|server|mcp|guard|adapters|client|gatehouse\\.ts)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
