// Module boundaries of ykt (see docs/architecture.md, "Architecture").
// Checked by test/arch/boundaries.test.ts, which also cruises a deliberately violating
// fixture (test/arch/fixture) to prove that the rules fire.
// Paths are relative to the cruise's baseDir (the repository root, or the fixture root).

/** Where the modules live; each directory under it is one module. */
const MODULE = '^src/modules/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-module',
      comment:
        'src/core is what every module uses and no module owns: it must not import anything under ' +
        'src/modules. Move the code into the module, or have core define an interface (or an event) ' +
        'that the module implements.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: MODULE },
    },
    {
      name: 'no-module-internals',
      comment:
        "A module may use another module only through that module's public API, " +
        'src/modules/<name>/index.ts; reaching into its repo.ts, commands.ts, queries.ts ... is forbidden. ' +
        'Export what you need from the other module\'s index.ts instead.',
      severity: 'error',
      // $1 is the importing module's name: imports inside the same module are fine.
      from: { path: `${MODULE}([^/]+)/` },
      to: {
        path: MODULE,
        pathNot: [`${MODULE}$1/`, `${MODULE}[^/]+/index\\.ts$`],
      },
    },
    {
      name: 'layer-bottom-imports-no-module',
      comment:
        'Layering (imports only point down): policy, beneficiary and agreement are the bottom layer and ' +
        'import no other module (neither a higher one nor each other). To make a higher module react, ' +
        'write an event to the core_event outbox instead.',
      severity: 'error',
      from: { path: `${MODULE}(policy|beneficiary|agreement)/` },
      to: { path: MODULE, pathNot: `${MODULE}$1/` },
    },
    {
      name: 'layer-batch-imports-only-down',
      comment:
        'Layering (imports only point down): batch may import policy, beneficiary and agreement, but not ' +
        'the higher bank, publicity or supervision. Write an event to make them react.',
      severity: 'error',
      from: { path: `${MODULE}batch/` },
      to: { path: `${MODULE}(bank|publicity|supervision)/` },
    },
    {
      name: 'layer-bank-imports-only-down',
      comment:
        'Layering (imports only point down): bank may import batch, policy, beneficiary and agreement, ' +
        'but not the higher publicity or supervision. Write an event to make them react (a paid line needs a notice).',
      severity: 'error',
      from: { path: `${MODULE}bank/` },
      to: { path: `${MODULE}(publicity|supervision)/` },
    },
    {
      name: 'layer-top-not-each-other',
      comment:
        'Layering: publicity and supervision are the top layer; they may import any lower module, ' +
        'but not each other. Use an event (a complaint needs a case) instead.',
      severity: 'error',
      from: { path: `${MODULE}(publicity|supervision)/` },
      to: { path: `${MODULE}(publicity|supervision)/`, pathNot: `${MODULE}$1/` },
    },
    {
      name: 'no-circular',
      comment:
        'No circular dependencies in src: a cycle makes load order fragile and blurs which side owns ' +
        'what. Break it by moving the shared part down, or by an event. Cycles made only of ' +
        '`import type` are erased at compile time and do not count.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    // Only our own code matters for these rules; do not descend into packages.
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    // Count `import type` too: a type-only import across a boundary is still a boundary crossed.
    tsPreCompilationDeps: true,
    // The code imports with explicit `.ts` specifiers (allowImportingTsExtensions).
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
