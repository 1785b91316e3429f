import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANCHOR_FILE } from '../../src/core/audit-anchor.ts';
import { auditKeyId } from '../../src/core/audit-key.ts';
import { asDatabaseOwner, chainRows } from '../audit-chain-reference.ts';
import { TEST_DB, type TestDb, agentFor, createSeededDb, loginWithTotp } from '../factories.ts';

/** The auditor's verification page: the chain, the anchor outside the database, shown for keeping elsewhere. */
let t: TestDb;
let dataDir: string;
let auditor: ReturnType<typeof agentFor>;
beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-anchor-'));
  t = await createSeededDb({ dataDir });
  auditor = agentFor(t.core);
  await loginWithTotp(auditor, t.core, 'auditor');
});
afterAll(async () => {
  await t.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The anchor's facts as the page lists them, term → text. */
function anchorShown(html: string): Record<string, string> {
  const dl = parse(html).querySelector('dl.facts');
  if (!dl) return {};
  const terms = dl.querySelectorAll('dt').map((dt) => dt.text.trim());
  const values = dl.querySelectorAll('dd').map((dd) => dd.text.trim());
  return Object.fromEntries(terms.map((term, i) => [term, values[i]!]));
}

describe(`the audit verification page (${TEST_DB})`, () => {
  it('shows the anchor it wrote outside the database, for keeping elsewhere, and compares the next verification with it', async () => {
    const first = await auditor.get('/audit/verify');
    expect(first.status).toBe(200);
    const rows = await chainRows(t.core);
    const last = rows.at(-1)!;
    expect(first.text).toContain(`完整：已逐条重新计算 ${rows.length} 条记录的哈希（带审计密钥的 HMAC-SM3），编号连续，链条无断裂、无篡改。`);
    expect(first.text).toContain('数据目录中还没有锚点文件');
    expect(anchorShown(first.text)).toMatchObject({
      最后一条记录: `第 ${last.id} 号`,
      哈希: last.hash,
      记录条数: String(rows.length),
      审计密钥指纹: auditKeyId(t.core.config.auditKey),
    });
    const anchor = JSON.parse(fs.readFileSync(path.join(dataDir, ANCHOR_FILE), 'utf8'));
    expect(anchor).toMatchObject({ lastId: last.id, lastHash: last.hash, count: rows.length });

    const again = await auditor.get('/audit/verify');
    expect(again.text).toContain(`上次校验的锚点（第 ${last.id} 号）仍在且未变`);
    expect(again.text).not.toContain('还没有锚点文件');
  });

  it('reports rows cut from the end of the log, which the chain alone would not show', async () => {
    await auditor.get('/audit/verify');
    const last = (await chainRows(t.core)).at(-1)!;
    await asDatabaseOwner(t.core, async () => {
      await t.core.db('core_audit').where({ id: last.id }).delete();
    });
    const res = await auditor.get('/audit/verify');
    expect(res.status).toBe(200);
    expect(res.text).toContain(`异常：上次校验时的最后一条记录（第 ${last.id} 号）已被删除或修改：日志现在只到第 ${last.id - 1} 号（末尾的记录被删除）。`);
    expect(res.text).toContain('请立即报告并保全数据库');
    expect(anchorShown(res.text)).toEqual({});
  });
});
