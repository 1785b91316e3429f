import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { readTableFile } from '../../src/core/table-reader.ts';
import { OLD_XLS, PNG_PICTURE, truncated, zipBombWorkbook } from '../bad-files.ts';
import { TEST_DB, type TestDb, agentFor, createSeededDb, csrfFrom, login } from '../factories.ts';

let t: TestDb | undefined;
let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
  server = undefined;
  await t?.cleanup();
  t = undefined;
});

describe(`uploaded files (${TEST_DB})`, () => {
  it('refuses a zip bomb with the limit it passed, while another user\'s pages keep answering', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const other = agentFor(t.core);
    await login(other, 'finance1');
    expect((await other.get('/')).status).toBe(200);
    const page = await station.get('/beneficiaries/import');
    const bomb = zipBombWorkbook(250);

    // What reading this file on the server's own thread would hold every request for, measured here in the same run
    // (so that the comparison holds on a slow or busy machine too).
    const spec = { headerHas: ['姓名'], required: ['姓名'], rowNoun: '受益对象', formatHint: '' };
    const before = performance.now();
    expect(readTableFile(bomb, spec, { header() {}, row() {} })).toContain('64 MB');
    const onThisThread = performance.now() - before;

    // The longest the event loop stalls while the upload is read: a parse on this thread would stall it that long.
    const stalls = monitorEventLoopDelay({ resolution: 10 });
    stalls.enable();
    let answered = false;
    const upload = station
      .post('/beneficiaries/import')
      .field('_csrf', csrfFrom(page.text))
      .attach('file', bomb, '花名册.xlsx')
      .then((res) => {
        answered = true;
        return res;
      });
    // The other user's home page, again and again until the upload is answered.
    const statuses: number[] = [];
    while (!answered) statuses.push((await other.get('/')).status);
    const refused = await upload;
    stalls.disable();
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('文件解压后超过 64 MB 上限（共享字符串部分）：请分成几个文件上传');
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200)).toBe(true);
    // Read in a worker, the event loop never stops for the file: its longest stall is well under what reading the
    // file here takes.
    expect(stalls.max / 1e6).toBeLessThan(onThisThread / 2);
  });

  it('says what is wrong with a file that is not a table: a picture renamed .xlsx, a cut-off workbook, an old .xls, a CSV quote not closed', async () => {
    t = await createSeededDb({ demo: true });
    const station = agentFor(t.core);
    await login(station, 'station1');
    const page = await station.get('/beneficiaries/import');
    const send = (file: Buffer, name: string) => station.post('/beneficiaries/import').field('_csrf', csrfFrom(page.text)).attach('file', file, name);
    const workbook = await writeTableXlsx('花名册', ['村（社区）', '姓名', '身份证号码', '与户主关系'], [['东关社区', '张三', '99010219700101001X', '户主']]);
    const cases: [Buffer, string, string][] = [
      [PNG_PICTURE, '花名册.xlsx', '文件不是 Excel 或 CSV：看起来是 PNG 图片'],
      [truncated(workbook), '花名册.xlsx', 'Excel 文件不完整（压缩包已损坏或被截断）'],
      [OLD_XLS, '花名册.xls', '不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx'],
      [Buffer.from('村（社区）,姓名,身份证号码,与户主关系\n东关社区,"张三,99010219700101001X,户主\n'), '花名册.csv', 'CSV 文件第 2 行引号不成对'],
    ];
    for (const [file, name, message] of cases) {
      const refused = await send(file, name);
      expect(refused.status).toBe(422);
      expect(refused.text).toContain(message);
    }

    // The same on another import: the reference data of the finance section.
    const finance = agentFor(t.core);
    await login(finance, 'finance');
    const reference = await finance.get('/beneficiaries/reference');
    const refused = await finance
      .post('/beneficiaries/reference')
      .field('_csrf', csrfFrom(reference.text))
      .field('source', 'police_death')
      .field('takenOn', '2026-11-01')
      .attach('file', PNG_PICTURE, '死亡人员.csv');
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('文件不是 Excel 或 CSV：看起来是 PNG 图片');
  });

  it('refuses a file upload from someone not logged in before reading its body, and closes the connection', async () => {
    t = await createSeededDb({ demo: true });
    server = http.createServer(createApp(t.core).callback());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // A 19 MB body announced, 64 KB of it sent: the answer comes without the rest, so nothing waited for it.
    const answer = await new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/login', headers: { 'Content-Type': 'multipart/form-data; boundary=x', 'Content-Length': 19 * 1024 * 1024 } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, connection: res.headers.connection, body });
        });
      });
      req.on('error', reject);
      req.write(Buffer.concat([Buffer.from('--x\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\n'), Buffer.alloc(64 * 1024, 7)]));
    });
    expect(answer.status).toBe(403);
    expect(answer.connection).toBe('close');
    expect(answer.body).toContain('请先登录，再上传文件');
  });
});
