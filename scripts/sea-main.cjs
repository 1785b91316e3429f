// The single executable's first script (scripts/build-binary.mjs). It unpacks the application asset, once per build,
// into a folder named by the asset's digest, then runs the compiled `ykt` command from there on this executable's
// own Node. The folder is $YKT_APP_CACHE, or $XDG_CACHE_HOME/ykt, or ~/.cache/ykt; it is written beside and renamed
// into place, so that two commands starting at once never run half an application.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const sea = require('node:sea');
const zlib = require('node:zlib');

function cacheRoot() {
  if (process.env.YKT_APP_CACHE) return process.env.YKT_APP_CACHE;
  if (process.env.XDG_CACHE_HOME) return path.join(process.env.XDG_CACHE_HOME, 'ykt');
  return path.join(os.homedir(), '.cache', 'ykt');
}

function unpack(dir) {
  const staging = `${dir}.${process.pid}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  const data = zlib.gunzipSync(Buffer.from(sea.getRawAsset('app.gz')));
  const headerEnd = data.indexOf(10);
  const index = JSON.parse(data.subarray(0, headerEnd).toString('utf8'));
  let offset = headerEnd + 1;
  for (const [rel, size, mode] of index) {
    const file = path.join(staging, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, data.subarray(offset, offset + size), { mode });
    offset += size;
  }
  if (offset !== data.length) throw new Error('ykt: 可执行文件内的应用数据不完整，请重新下载');
  try {
    fs.renameSync(staging, dir);
  } catch (err) {
    // Another command unpacked the same build meanwhile: use theirs.
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * After a new build is unpacked, the folders of older builds go, except the newest of them: a command of the
 * previous version may still be running from it (a server during an upgrade), and it loads its code as it goes.
 */
function removeOlderBuilds(root, current) {
  const builds = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== current && /^\d+\.\d+\.\d+-[0-9a-f]{16}$/.test(e.name))
    .map((e) => ({ dir: path.join(root, e.name), at: fs.statSync(path.join(root, e.name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of builds.slice(1)) fs.rmSync(old.dir, { recursive: true, force: true });
}

const root = cacheRoot();
const id = sea.getAsset('app-id.txt', 'utf8').trim();
const dir = path.join(root, id);
if (!fs.existsSync(path.join(dir, 'dist', 'ykt.mjs'))) {
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    unpack(dir);
  } catch (err) {
    process.stderr.write(`ykt: 无法把程序文件解压到 ${root}（${err.message}）。请设置 YKT_APP_CACHE 为本用户可写的目录（见 docs/single-executable.md）\n`);
    process.exit(1);
  }
  removeOlderBuilds(root, id);
}
// process.argv is [this executable, this executable, …arguments]: the command reads from the third on, as under node.
// `ykt --version` names the build.
process.env.YKT_BUILD_ID = id;
import(pathToFileURL(path.join(dir, 'dist', 'ykt.mjs')).href).catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
