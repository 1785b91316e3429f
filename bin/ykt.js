#!/usr/bin/env node
// The `ykt` command. It runs the compiled bundle (dist/ykt.mjs, scripts/build.mjs), building it first when it is
// missing or older than a source file (esbuild, half a second), so that county IT installs nothing else and the
// command starts in about a second. The benchmark, a development tool, runs from its TypeScript sources through tsx,
// as does everything when the bundle cannot be written here (a read-only install).
const bundle = new URL('../dist/ykt.mjs', import.meta.url);

async function fromSources() {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}

if (process.argv[2] === 'bench') await fromSources();
else {
  let built = true;
  try {
    const { build, isFresh } = await import('../scripts/build.mjs');
    if (!isFresh()) await build();
  } catch (err) {
    process.stderr.write(`ykt: 无法编译到 dist/（${err instanceof Error ? err.message : String(err)}），改为直接运行源代码，启动较慢\n`);
    built = false;
  }
  if (built) await import(bundle.href);
  else await fromSources();
}
