// Module boundaries (docs/architecture.md, "Architecture"), checked with dependency-cruiser against the rules in
// .dependency-cruiser.cjs: once on the real src tree, once on a fixture that breaks them on purpose.
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtureRoot = fileURLToPath(new URL('./fixture/', import.meta.url));
const configFile = fileURLToPath(new URL('../../.dependency-cruiser.cjs', import.meta.url));
const tsConfigFile = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** Cruises `<baseDir>/src` with the project's rules; module paths in the result are relative to baseDir. */
async function cruiseSrc(baseDir: string): Promise<ICruiseResult> {
  const options: ICruiseOptions = await extractDepcruiseOptions(configFile);
  const result = await cruise(
    ['src'],
    {
      ...options,
      baseDir,
      // absolute, so it does not depend on the worker's cwd
      tsConfig: { fileName: tsConfigFile },
      outputType: 'json',
    },
    {},
    { tsConfig: extractTSConfig(tsConfigFile) },
  );
  const output = result.output;
  return typeof output === 'string' ? (JSON.parse(output) as ICruiseResult) : output;
}

const describeViolation = (v: IViolation): string =>
  `${v.rule.name}: ${v.from} → ${v.to}` +
  (v.cycle ? ` (cycle: ${v.cycle.map((step) => step.name).join(' → ')})` : '');

describe('module boundaries (.dependency-cruiser.cjs)', () => {
  it('the real src tree breaks none of the boundary rules', async () => {
    const result = await cruiseSrc(root);

    // the cruise really read the tree (a wrong baseDir would "pass" with nothing to check)
    expect(result.modules.some((m) => m.source === 'src/app.ts')).toBe(true);

    const violations = result.summary.violations.map(describeViolation);
    expect(violations, `boundary violations in src:\n  ${violations.join('\n  ')}`).toEqual([]);
  });

  it('the violating fixture makes every rule fire, each exactly where it is broken, and nothing else', async () => {
    const result = await cruiseSrc(fixtureRoot);

    const violations = result.summary.violations.map(describeViolation).sort();
    expect(violations).toEqual(
      [
        'core-imports-no-module: src/core/x.ts → src/modules/policy/index.ts',
        'no-module-internals: src/modules/batch/commands.ts → src/modules/policy/repo.ts',
        'layer-bottom-imports-no-module: src/modules/policy/index.ts → src/modules/batch/index.ts',
        'layer-bottom-imports-no-module: src/modules/agreement/index.ts → src/modules/batch/index.ts',
        'layer-batch-imports-only-down: src/modules/batch/index.ts → src/modules/bank/index.ts',
        'layer-bank-imports-only-down: src/modules/bank/index.ts → src/modules/publicity/index.ts',
        'layer-top-not-each-other: src/modules/publicity/index.ts → src/modules/supervision/index.ts',
        'no-circular: src/core/cycle-a.ts → src/core/cycle-b.ts (cycle: src/core/cycle-b.ts → src/core/cycle-a.ts)',
      ].sort(),
    );

    // Every rule of the configuration is shown to fire: a rule added later needs its own violation here.
    const options = await extractDepcruiseOptions(configFile);
    const ruleNames = (options.ruleSet?.forbidden ?? []).map((rule) => rule.name).sort();
    expect(new Set(result.summary.violations.map((v) => v.rule.name))).toEqual(new Set(ruleNames));

    // The allowed imports were seen (so "not reported" means allowed, not unresolved) and are valid:
    // batch → policy and batch → agreement through their index.ts, policy → its own repo.ts, and a cycle made only
    // of `import type`.
    const dependency = (from: string, to: string) =>
      result.modules.find((m) => m.source === from)?.dependencies.find((d) => d.resolved === to);
    expect(dependency('src/modules/batch/commands.ts', 'src/modules/policy/index.ts')?.valid).toBe(true);
    expect(dependency('src/modules/batch/commands.ts', 'src/modules/agreement/index.ts')?.valid).toBe(true);
    expect(dependency('src/modules/policy/index.ts', 'src/modules/policy/repo.ts')?.valid).toBe(true);
    expect(dependency('src/core/types-a.ts', 'src/core/types-b.ts')?.valid).toBe(true);
    expect(dependency('src/core/types-b.ts', 'src/core/types-a.ts')?.valid).toBe(true);
  });
});
