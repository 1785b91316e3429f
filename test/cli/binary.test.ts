import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEMO_PASSWORD } from '../../seeds/demo.ts';
import { TEST_DB, binaryParser, csrfFrom, login } from '../factories.ts';

/**
 * The single executable county IT copies onto a machine (`npm run build:binary`, docs/single-executable.md): built
 * here, then run from an empty folder with a PATH that has no node, as on a machine without Node.js. It must answer
 * --help, start the demo county and serve its pages, PDFs and uploads, and verify the audit chain and back up the
 * database afterwards. The executable holds SQLite only, so the test runs in the SQLite half of the suite.
 */
const run = TEST_DB === 'sqlite' ? describe : describe.skip;

let work: string;
let binary: string;
let demo: ChildProcess | undefined;

/** Only what the executable is given: no node on PATH, its own HOME (where it unpacks), an empty working folder. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: path.join(work, 'empty-path'), HOME: path.join(work, 'home'), YKT_SCRYPT_LOG_N: '10', ...extra };
}

function ykt(args: string[], extra: Record<string, string> = {}) {
  const res = spawnSync(binary, args, { cwd: path.join(work, 'cwd'), env: env(extra), encoding: 'utf8', timeout: 180_000 });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

run('the single executable', () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-binary-test-'));
    for (const dir of ['empty-path', 'home', 'cwd']) fs.mkdirSync(path.join(work, dir));
    const { buildBinary } = await import('../../scripts/build-binary.mjs');
    binary = (await buildBinary()).file;
  }, 600_000);

  afterAll(() => {
    demo?.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('answers --help on a machine without node, and says the benchmark needs the sources', () => {
    expect(spawnSync('sh', ['-c', 'command -v node'], { env: env() }).status).not.toBe(0);
    // Two earlier builds unpacked before: the first start of this build removes the older, keeps the newer.
    const cache = path.join(work, 'home', '.cache', 'ykt');
    for (const [name, age] of [['0.0.1-aaaaaaaaaaaaaaaa', 7200], ['0.0.2-bbbbbbbbbbbbbbbb', 3600]] as const) {
      fs.mkdirSync(path.join(cache, name, 'dist'), { recursive: true });
      const at = new Date(Date.now() - age * 1000);
      fs.utimesSync(path.join(cache, name), at, at);
    }
    const help = ykt(['--help']);
    expect(help.err).toBe('');
    expect(help.code).toBe(0);
    expect(help.out).toContain('用法：ykt <命令>');
    const version = ykt(['--version']).out.split('\n');
    expect(version[0]).toMatch(/^ykt \d+\.\d+\.\d+（单文件版，构建 \d+\.\d+\.\d+-[0-9a-f]{16}，Node 24\.\d+\.\d+）$/);
    // The licences of Node and of every package compiled in travel with it.
    const notices = /^所含第三方软件及其许可证：(.+)$/.exec(version[1]!)![1]!;
    const text = fs.readFileSync(notices, 'utf8');
    expect(text).toMatch(/^Node\.js 24\.\d+\.\d+$/m);
    for (const name of ['koa', 'knex', 'nunjucks', 'exceljs', 'zod']) expect(text).toMatch(new RegExp(`^${name} \\d+\\.\\d+\\.\\d+ \\(`, 'm'));
    const kept = fs.readdirSync(cache);
    expect(kept).toHaveLength(2);
    expect(kept).toContain('0.0.2-bbbbbbbbbbbbbbbb');
    expect(kept.find((name) => !name.startsWith('0.0.2-'))).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{16}$/);
    const bench = ykt(['bench']);
    expect(bench.code).toBe(1);
    expect(bench.err).toContain('只能在源代码安装中运行');
  });

  it('starts the demo county; a login, a publicity sheet PDF and an upload work; then verify-audit and backup', async () => {
    const dataDir = path.join(work, 'data');
    demo = spawn(binary, ['demo'], { cwd: path.join(work, 'cwd'), env: env({ YKT_DATA_DIR: dataDir, PORT: '0' }) });
    let out = '';
    let err = '';
    demo.stderr!.on('data', (chunk) => (err += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      demo!.stdout!.on('data', (chunk) => {
        out += chunk;
        const started = /已启动：(http:\/\/\S+)/.exec(out);
        if (started) resolve(started[1]!.replace('localhost', '127.0.0.1'));
      });
      demo!.on('exit', (code) => reject(new Error(`demo exited ${code}: ${err}`)));
    });
    expect(out).toContain(`密码：${DEFAULT_DEMO_PASSWORD}`);

    // The station's user logs in and downloads a reported roster's publicity sheets (pdfkit with the embedded fonts).
    const station = request.agent(url);
    expect((await login(station, 'station1', DEFAULT_DEMO_PASSWORD)).status).toBe(303);
    const sheets = await station.get('/publicity/rosters/7/sheets.pdf').buffer(true).parse(binaryParser);
    expect(sheets.status).toBe(200);
    expect((sheets.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');

    // The administrator imports the region codes: the upload is read by the table worker, then written.
    const admin = request.agent(url);
    expect((await login(admin, 'admin', DEFAULT_DEMO_PASSWORD)).status).toBe(303);
    const page = await admin.get('/admin/regions');
    const countyId = parse(page.text).querySelectorAll('select[name="countyId"] option').find((o) => o.textContent.includes('青禾县'))?.getAttribute('value');
    expect(countyId).toMatch(/^\d+$/);
    const imported = await admin
      .post('/admin/regions/import')
      .field('_csrf', csrfFrom(page.text))
      .field('countyId', countyId!)
      .attach('file', path.resolve('docs/samples/region-import-sample.csv'), 'region-import-sample.csv');
    expect(imported.status).toBe(303);
    expect((await admin.get(imported.headers.location!)).text).toContain('地区导入完成：新增 4 个');

    const exited = new Promise((resolve) => demo!.on('exit', resolve));
    demo.kill('SIGTERM');
    await exited;
    expect(err).toBe('');

    const settings = { YKT_DATA_DIR: dataDir, YKT_SECRET_KEY: fs.readFileSync(path.join(dataDir, 'demo-secret.key'), 'utf8').trim(), DATABASE_URL: path.join(dataDir, 'ykt-demo.sqlite') };
    const verified = ykt(['verify-audit'], settings);
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('审计日志完整');
    // The move to a central PostgreSQL is in the executable too, with its driver: here it finds no database to move into.
    const move = ykt(['migrate-to-postgres', 'postgres://ykt@127.0.0.1:1/central'], settings);
    expect(move.code).toBe(1);
    expect(move.err).toMatch(/^无法连接中心数据库（.+）：请核对地址、用户和网络。未做任何更改。\n$/);
    const backup = ykt(['backup'], settings);
    expect(backup.code).toBe(0);
    expect(backup.out).toMatch(/SM3：[0-9a-f]{64}/);
  }, 300_000);
});
