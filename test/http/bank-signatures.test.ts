import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { envelopeParts, openEnvelope, parseSignature, publicKeyPem, verifySignature } from '../../src/core/signing.ts';
import { readTable, writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { sendCardRequest } from '../../src/modules/bank/cards.ts';
import { SignatureRefusal } from '../../src/modules/bank/commands.ts';
import { importNoticeConfirmations } from '../../src/modules/bank/notices.ts';
import { openReconciliations } from '../../src/modules/bank/reconcile.ts';
import { resultFileCsv } from '../../src/modules/bank/simulator.ts';
import { TEST_DB, type TestDb, actorFor, agentFor, approvedToken, asAdmin, auditRows, binaryParser, createSeededDb, csrfFrom, idNumberFrom, independentSm2, login, regionId, submit } from '../factories.ts';

const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** The bank's own key pair, made and used by an SM2 implementation that shares no code with the platform (sm-crypto). */
function bankKeyPair() {
  const pair = independentSm2.generateKeyPairHex();
  return { ...pair, sign: (data: Buffer) => independentSm2.doSignature([...data], pair.privateKey, { der: true, hash: true }) };
}

/** The finance section records the bank's key and requirements on the round bank's agreement, through its form. */
async function agree(db: TestDb, fields: Record<string, string>) {
  const finance = agentFor(db.core);
  await login(finance, 'finance');
  const agreement = await db.core.db('agreement_contract').first('id', 'version');
  const page = await finance.get(`/agreements/${agreement.id}`);
  const answer = await finance.post(`/agreements/${agreement.id}/bank-key`).type('form').send({ _csrf: csrfFrom(page.text), version: String(agreement.version), ...fields });
  return { answer, agreementId: agreement.id as number, finance };
}

describe(`the bank's key on its agreement: signed answers, encrypted files (${TEST_DB})`, () => {
  it('records the bank key from its PEM with its fingerprint, refuses a malformed key and requirements without a key (422, what was typed kept), audits the change', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const bank = bankKeyPair();
    const noKey = await agree(t, { bankPublicKey: '', requireBankSignature: 'on' });
    expect(noKey.answer.status).toBe(422);
    expect(noKey.answer.text).toContain('要求银行签名或加密代发文件，须先登记银行的 SM2 公钥');
    const bad = await agree(t, { bankPublicKey: '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----', encryptFiles: 'on' });
    expect(bad.answer.status).toBe(422);
    expect(bad.answer.text).toContain('不是 SM2 公钥');
    expect(bad.answer.text).toContain('MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE');
    expect(bad.answer.text).toMatch(/name="encryptFiles" checked/);
    const offCurve = await agree(t, { bankPublicKey: `04${'11'.repeat(64)}` });
    expect(offCurve.answer.text).toContain('公钥不在 SM2 曲线上');
    expect(await t.core.db('agreement_bank_key').count({ n: '*' })).toEqual([{ n: 0 }]);

    const ok = await agree(t, { bankPublicKey: publicKeyPem(bank.publicKey), requireBankSignature: 'on' });
    expect(ok.answer.status).toBe(303);
    const page = await ok.finance.get(`/agreements/${ok.agreementId}`);
    const [key] = await t.core.db('agreement_bank_key').where({ agreement_id: ok.agreementId }).select('fingerprint', 'public_key', 'in_use');
    expect(key).toMatchObject({ public_key: bank.publicKey, in_use: 1 });
    expect(page.text).toContain(key.fingerprint);
    expect(page.text).toContain('回盘文件和银行回复须附银行的 SM2 签名');
    // A new key retires the one in use; it stays listed.
    const next = bankKeyPair();
    expect((await agree(t, { bankPublicKey: next.publicKey, requireBankSignature: 'on' })).answer.status).toBe(303);
    expect((await t.core.db('agreement_bank_key').where({ agreement_id: ok.agreementId }).orderBy('id').select('in_use')).map((k) => k.in_use)).toEqual([null, 1]);
    const audits = await auditRows(t.core, 'agreement.bank_key');
    expect(audits).toHaveLength(2);
    // The bank reads the agreement but cannot change its keys.
    const bankUser = agentFor(t.core);
    await login(bankUser, 'bank');
    expect((await bankUser.get(`/agreements/${ok.agreementId}`)).text).not.toContain('/bank-key"');
  });

  it('takes a result file only with the bank\'s valid signature when the agreement requires it: unsigned, another key\'s, or a changed file are refused and nothing is saved', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const key = bankKeyPair();
    expect((await agree(t, { bankPublicKey: key.publicKey, requireBankSignature: 'on' })).answer.status).toBe(303);
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const lines = await t.core.db('batch_line').where({ round_id: round.id, state: 'active' }).orderBy('id').limit(3).select('id', 'amount_fen');
    const csv = resultFileCsv(lines.map((l: { id: number; amount_fen: number }) => ({ ref: `R${round.id}-${l.id}`, amountFen: l.amount_fen, result: '成功' })));
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const page = await bank.get('/bank/payouts');
    expect(page.text).toContain('签名文件（协议要求）');
    const upload = (file: Buffer, signature?: Buffer) => {
      const post = bank.post(`/bank/payouts/${round.id}/results`).field('_csrf', csrfFrom(page.text)).attach('file', file, '回盘.csv');
      return signature ? post.attach('signature', signature, '回盘.csv.sig') : post;
    };
    const unsigned = await upload(csv);
    expect(unsigned.status).toBe(422);
    expect(unsigned.text).toContain('要求回盘文件附银行的 SM2 签名');
    const other = await upload(csv, Buffer.from(`signature=${bankKeyPair().sign(csv)}\n`));
    expect(other.status).toBe(422);
    const changed = Buffer.from(csv.toString('utf8').replace('成功', '失败'));
    expect((await upload(changed, Buffer.from(`signature=${key.sign(csv)}\n`))).text).toContain('回盘文件可能被改动过');
    expect((await upload(csv, Buffer.from('not a signature'))).text).toContain('签名文件的格式不对');
    expect(await t.core.db('bank_line_result').where({ round_id: round.id }).count({ n: '*' })).toEqual([{ n: 0 }]);

    // The DER bytes as an SM2 tool writes them are a signature too.
    const signed = await upload(csv, Buffer.from(key.sign(csv), 'hex'));
    expect(signed.status).toBe(303);
    const file = await t.core.db('bank_result_file').where({ round_id: round.id }).first('bank_signature', 'bank_key_fingerprint');
    expect(file.bank_key_fingerprint).toBe((await t.core.db('agreement_bank_key').where({ in_use: 1 }).first('fingerprint')).fingerprint);
    expect(verifySignature(csv, file.bank_signature, key.publicKey)).toBe(true);
    const [audit] = (await auditRows(t.core, 'bank.results.import')).slice(-1);
    expect(JSON.parse(audit.summary)).toHaveProperty('signedBy');
  });

  it('takes results through the API only with X-Signature-SM2 over the body as sent, when the agreement requires it', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const key = bankKeyPair();
    await agree(t, { bankPublicKey: key.publicKey, requireBankSignature: 'on' });
    const admin = await asAdmin(t);
    const bankOrg = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const token = await approvedToken(t, await submit(admin, '/admin/api-tokens', '/admin/api-tokens', { name: '信用社代发系统', purpose: 'bank', regionId: String(await regionId(t, '青禾县')), orgId: String(bankOrg.id) }));
    const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
    const line = await t.core.db('batch_line').where({ round_id: round.id }).orderBy('id').first('id', 'amount_fen');
    const body = JSON.stringify({ results: [{ ref: `R${round.id}-${line.id}`, amountFen: Number(line.amount_fen), result: 'paid' }] });
    const post = (signature?: string) => {
      const req = agentFor(t!.core).post(`/api/v1/payouts/${round.id}/results`).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json');
      return (signature ? req.set('X-Signature-SM2', signature) : req).send(body);
    };
    const unsigned = await post();
    expect(unsigned.status).toBe(422);
    expect(unsigned.body.errors[0]).toMatchObject({ field: 'X-Signature-SM2' });
    expect((await post(key.sign(Buffer.from(body.replace('paid', 'failed'))))).status).toBe(422);
    const ok = await post(key.sign(Buffer.from(body)));
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ paid: 1 });
  });

  it('refuses an unsigned notice confirmation when the agreement requires a signature', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    await agree(t, { bankPublicKey: bankKeyPair().publicKey, requireBankSignature: 'on' });
    const file = Buffer.from('\ufeff告知编号,结果,失败原因\r\n1,已发送,\r\n');
    await expect(importNoticeConfirmations(t.core, { actor: await actorFor(t, 'bank') }, { name: '发送结果.csv', buffer: file })).rejects.toBeInstanceOf(SignatureRefusal);
    expect(await t.core.db('bank_notice_confirmation').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('signs the card-opening list and encrypts it for the bank when agreed; takes the bank\'s answer only signed when the agreement requires it', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const key = bankKeyPair();
    await agree(t, { bankPublicKey: key.publicKey, requireBankSignature: 'on', encryptFiles: 'on' });
    const bankOrg = await t.core.db('core_org').where({ kind: 'bank' }).first('id');
    const personId = await registerPerson(t.core, await actorFor(t, 'station1'), { name: '钱开卡', idNumber: idNumberFrom('99010219600304221'), villageId: await regionId(t, '西街村'), relation: 'head', headPersonId: null, phone: null, account: null });
    const requestId = await sendCardRequest(t.core, await actorFor(t, 'station1'), { bankOrgId: bankOrg.id, noAccount: [personId], lostIdNumbers: [] });
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const page = await bank.get(`/bank/card-requests/${requestId}`);
    expect(page.text).toContain('签名文件（代发协议要求）');
    const list = await bank.get(`/bank/card-requests/${requestId}/list.xlsx`).buffer(true).parse(binaryParser);
    expect(list.headers['content-disposition']).toContain('.xlsx.enc');
    const xlsx = openEnvelope(list.body as Buffer, key.privateKey);
    const sig = parseSignature((await bank.get(`/bank/card-requests/${requestId}/list.xlsx.sig`)).text)!;
    const platformKey = (await t.core.db('core_signing_key').where({ in_use: 1 }).first('public_key')).public_key;
    expect(independentSm2.doVerifySignature([...xlsx], sig.signature, platformKey, { der: true, hash: true })).toBe(true);
    const table = await readTable(xlsx, { headerHas: ['身份证号码'], required: ['身份证号码'], rowNoun: '', formatHint: '' });
    if (typeof table === 'string') throw new Error(table);
    const cells = table.rows[0]!.cells;
    const answer = await writeTableXlsx('开卡名单', ['序号', '村（社区）', '姓名', '身份证号码', '原因', '开卡结果', '账户类型', '账号', '说明'], [[cells[0]!, cells[1]!, cells[2]!, cells[3]!, cells[4]!, '未开卡', '社会保障卡', '', '本人未到网点办理']]);
    const upload = (signature?: Buffer) => {
      const post = bank.post(`/bank/card-requests/${requestId}/answer`).field('_csrf', csrfFrom(page.text)).attach('file', answer, '开卡结果.xlsx');
      return signature ? post.attach('signature', signature, '开卡结果.xlsx.sig') : post;
    };
    const unsigned = await upload();
    expect(unsigned.status).toBe(422);
    expect(unsigned.text).toContain('要求开卡结果文件附银行的 SM2 签名');
    expect((await t.core.db('bank_card_request').where({ id: requestId }).first('state')).state).toBe('sent');
    expect((await upload(Buffer.from(key.sign(answer)))).status).toBe(303);
    expect(await t.core.db('bank_card_request').where({ id: requestId }).first('state', 'bank_key_fingerprint')).toMatchObject({ state: 'answered', bank_key_fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('refuses an unsigned reconciliation confirmation file when the agreement requires a signature, at its field (422); a signed one is read', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const key = bankKeyPair();
    await agree(t, { bankPublicKey: key.publicKey, requireBankSignature: 'on' });
    await openReconciliations(t.core.db, '2027-01-05');
    const recId = Number((await t.core.db('bank_reconciliation').where({ quarter: '2026-Q4' }).first('id')).id);
    const bank = agentFor(t.core);
    await login(bank, 'bank');
    const page = await bank.get(`/bank/reconciliations/${recId}`);
    expect(page.text).toContain('签名文件（代发协议要求）');
    const file = Buffer.from('\ufeff流水号,金额（分）,状态\r\n');
    const upload = (signature?: Buffer) => {
      const post = bank.post(`/bank/reconciliations/${recId}/confirmation`).field('_csrf', csrfFrom(page.text)).attach('file', file, '对账确认.csv');
      return signature ? post.attach('signature', signature, '对账确认.csv.sig') : post;
    };
    const unsigned = await upload();
    expect(unsigned.status).toBe(422);
    expect(unsigned.text).toContain('要求对账确认文件附银行的 SM2 签名');
    expect((await t.core.db('bank_reconciliation').where({ id: recId }).first('confirmation_sha256')).confirmation_sha256).toBeNull();
    // Signed, the file is read: this one has no lines, and is refused for that, not for its signature.
    const signed = await upload(Buffer.from(key.sign(file), 'hex'));
    expect(signed.status).toBe(422);
    expect(signed.text).not.toContain('要求对账确认文件附银行的 SM2 签名');
    expect(signed.text).not.toContain('签名与对账确认文件不符');
  });

  it.runIf(openssl)('encrypts the payout file for the bank when agreed: OpenSSL opens the envelope with the bank\'s private key, and the platform\'s signature checks the file inside', async () => {
    t = await createSeededDb({ demo: true }, { people: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-envelope-'));
    try {
      const run = (args: string[]) => spawnSync('openssl', args, { cwd: dir });
      expect(run(['genpkey', '-algorithm', 'SM2', '-out', 'bank.pem']).status).toBe(0);
      const pub = spawnSync('openssl', ['pkey', '-in', 'bank.pem', '-pubout'], { cwd: dir, encoding: 'utf8' }).stdout;
      expect((await agree(t, { bankPublicKey: pub, encryptFiles: 'on' })).answer.status).toBe(303);
      const round = await t.core.db('batch_round').where({ state: 'transferred', period: '2026-09' }).first('id');
      const bank = agentFor(t.core);
      await login(bank, 'bank');
      expect((await bank.get('/bank/payouts')).text).toContain('按代发协议加密');
      const download = await bank.get(`/bank/payouts/${round.id}/csv`).buffer(true).parse(binaryParser);
      expect(download.headers['content-disposition']).toContain(encodeURIComponent(`代发文件-R${round.id}-2026-09.csv.enc`));
      const envelope = envelopeParts(download.body as Buffer)!;
      expect(envelope.fields.get('cipher')).toBe('SM4-CBC');
      fs.writeFileSync(path.join(dir, 'key.der'), Buffer.from(envelope.fields.get('wrapped-key')!, 'hex'));
      fs.writeFileSync(path.join(dir, 'body.bin'), envelope.body);
      const sm4Key = run(['pkeyutl', '-decrypt', '-inkey', 'bank.pem', '-in', 'key.der']);
      expect(sm4Key.status).toBe(0);
      const plain = run(['enc', '-d', '-sm4-cbc', '-K', sm4Key.stdout.toString('hex'), '-iv', envelope.fields.get('iv')!, '-in', 'body.bin']);
      expect(plain.status).toBe(0);
      expect(plain.stdout.toString('utf8')).toContain('流水号,户名,账号');
      // The platform's signature (and checksum) are of the file inside.
      const sig = Object.fromEntries((await bank.get(`/bank/payouts/${round.id}/csv/sig`)).text.trim().split('\n').map((l) => l.split('=') as [string, string]));
      const platformKey = (await t.core.db('core_signing_key').where({ in_use: 1 }).first('public_key')).public_key;
      expect(independentSm2.doVerifySignature([...plain.stdout], sig.signature!, platformKey, { der: true, hash: true })).toBe(true);
      expect((await auditRows(t.core, 'bank.payout.download')).filter((a) => JSON.parse(a.summary).encryptedFor)).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
