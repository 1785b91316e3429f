import { createHash } from 'node:crypto';
import { blindIndexesOf } from '../../core/crypto.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { bulkInsert, inTransaction, insertReturningId, nowIso, selectInChunks } from '../../core/db.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { freeTextProblem } from '../../core/fields.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { findRegion } from '../../core/regions.ts';
import { type ImportError, type TableSpec, readTable, writeErrorReport, writeTableXlsx } from '../../core/spreadsheet.ts';
import { ACCOUNT_KIND_LABELS, type AccountKind, idNumbersById, notOnCardQuery, parseIdNumber, peopleWithoutAccount, proposeOpenedAccount, registryFactsByIdNumberIndex } from '../beneficiary/index.ts';

const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
import { roundsOfBank } from '../batch/index.ts';
import { banksServing, encryptionKeyOf } from '../agreement/index.ts';
import { type Signature, fingerprintOf, signFile } from '../../core/signing.ts';
import { bankTermsToday, signedBy } from './commands.ts';
import { authorize } from '../../core/authz.ts';
import { CARD_REASONS, type CardReason } from './model.ts';
import { can } from './policy.ts';
import { cardRequestInScope, cardRequestLines } from './queries.ts';

/**
 * Card-opening requests (Haicheng 三(三)2 and 四): the township station sends the agent bank the people with no
 * account or a lost card; the bank downloads the list (ID numbers in clear: it opens cards from them; audited) and
 * answers each person — a new account number, or why none was opened. Each new account becomes a registry account
 * change for the township finance office to confirm (docs/card-request-format.md). And the bank's completion
 * receipt (发放完成回执单) of each round, uploaded and kept. The reads (requests in scope, their lines, receipts) are
 * in queries.ts.
 */

/**
 * The station sends a request: people of its township with no account (ticked from the registry) and people whose
 * card is lost (by ID number). Each must be registered in the township and 在册; one open request per person.
 */
export async function sendCardRequest(core: Core, actor: Actor, input: { bankOrgId: number; noAccount: number[]; lostIdNumbers: string[]; notOnCard?: number[] }): Promise<number> {
  const township = await findRegion(core.db, actor.regionId);
  if (!township) throw new NotFoundError('地区不存在');
  await authorize(core.db, actor, can(actor, 'send_card_request', null), { objectType: 'card_request' });
  if (!(await banksServing(core.db, township.id)).some((b) => b.id === input.bankOrgId)) throw new ValidationError({ bankOrgId: '请选择与本乡镇有有效代发协议的金融机构' });
  const errors: Record<string, string> = {};
  const without = new Set((await peopleWithoutAccount(core.db, township.id, 100_000)).map((p) => p.id));
  const noAccount = [...new Set(input.noAccount)];
  if (noAccount.some((id) => !without.has(id))) errors.noAccount = '所选人员中有已登记账户或不在本乡镇在册的，请刷新后重选';
  const lost: number[] = [];
  for (const [i, text] of input.lostIdNumbers.map((x) => x.trim()).filter(Boolean).entries()) {
    const id = parseIdNumber(text);
    if (!id.ok) {
      errors.lostIdNumbers = `第 ${i + 1} 个身份证号码：${id.error}`;
      break;
    }
    const [person] = await registryFactsByIdNumberIndex(core.db, [core.crypto.blindIndex('id', id.value.idNumber)]);
    if (!person || person.townshipId !== township.id || person.status !== 'active') {
      errors.lostIdNumbers = `第 ${i + 1} 个身份证号码不是本乡镇在册的受益对象`;
      break;
    }
    lost.push(person.personId);
  }
  // 社保卡优先: people of the township paid to a bank card or passbook (the not-on-card list), for a 社保卡.
  const notOnCard = [...new Set(input.notOnCard ?? [])];
  if (notOnCard.length) {
    const listed = new Set<number>();
    for (const chunk of chunks(notOnCard, 500)) {
      for (const r of (await notOnCardQuery(core.db, { regionPath: township.path }, { name: null, villageId: null, reason: null, kind: null }).whereIn('p.id', chunk)) as { id: number }[]) listed.add(r.id);
    }
    if (notOnCard.some((id) => !listed.has(id))) errors.notOnCard = '所选人员中有已使用社保卡或不在本乡镇在册的，请刷新后重选';
  }
  if (Object.keys(errors).length) throw new ValidationError(errors);
  const onCardList = new Set(notOnCard);
  const lines = [
    ...noAccount.map((id) => ({ personId: id, reason: 'no_account' as CardReason })),
    ...[...new Set(lost)].filter((id) => !without.has(id) && !onCardList.has(id)).map((id) => ({ personId: id, reason: 'lost_card' as CardReason })),
    ...notOnCard.map((id) => ({ personId: id, reason: 'no_sscard' as CardReason })),
  ];
  if (lines.length === 0) throw new ValidationError(input.notOnCard ? { notOnCard: '请勾选要办理社保卡的人员' } : { noAccount: '请勾选无账户的人员或填写卡（折）挂失人员的身份证号码' });
  return inTransaction(core.db, async (trx) => {
    const pending = await selectInChunks(lines.map((l) => l.personId), (chunk) => trx('bank_card_request_line as l').join('bank_card_request as r', 'r.id', 'l.request_id').where('r.state', 'sent').whereIn('l.person_id', chunk).select('l.person_id'));
    if (pending.length) throw new ValidationError({ [input.notOnCard ? 'notOnCard' : 'noAccount']: `有 ${pending.length} 人已在待银行办理的开卡申请中` });
    const requestId = await insertReturningId(trx, 'bank_card_request', { township_id: township.id, bank_org_id: input.bankOrgId, state: 'sent', lines: lines.length, created_by: actor.userId, created_at: nowIso() });
    await bulkInsert(trx, 'bank_card_request_line', lines, (l) => ({ request_id: requestId, person_id: l.personId, reason: l.reason }));
    await recordAudit(trx, actor, { action: 'bank.card_request.send', objectType: 'card_request', objectId: requestId, summary: { bank: input.bankOrgId, noAccount: noAccount.length, lostCard: lines.length - noAccount.length - notOnCard.length, notOnCard: notOnCard.length } });
    return requestId;
  });
}

/** Of these people, those already on a card-opening request the bank has not answered yet. */
export async function peopleAwaitingCard(core: Core, personIds: number[]): Promise<Set<number>> {
  const rows = await selectInChunks<{ person_id: number }>(personIds, (chunk) =>
    core.db('bank_card_request_line as l').join('bank_card_request as r', 'r.id', 'l.request_id').where('r.state', 'sent').whereIn('l.person_id', chunk).select('l.person_id'),
  );
  return new Set(rows.map((r) => r.person_id));
}

const LIST_HEADER = ['序号', '村（社区）', '姓名', '身份证号码', '原因', '开卡结果', '账户类型', '账号', '说明'];

/**
 * The list the bank opens cards from (.xlsx), with the answer columns for it to fill in. ID numbers in clear; signed
 * with the deployment's key, encrypted for the bank when its agreement asks for it. `delivered`: the list itself
 * goes to the bank (audited), not only its signature.
 */
export async function cardRequestFile(core: Core, actor: Actor, requestId: number, options: { delivered: boolean } = { delivered: true }): Promise<{ fileName: string; body: Buffer; signature: Signature; encryptFor: string | null }> {
  const request = await cardRequestInScope(core.db, actor, requestId);
  await authorize(core.db, actor, can(actor, 'download_card_list', request), { objectType: 'card_request', objectId: requestId });
  const lines = await cardRequestLines(core.db, request.id);
  const ids = await idNumbersById(core.db, core.crypto, lines.map((l) => l.person_id));
  const villages = new Map(((await core.db('core_region').whereIn('id', [...new Set(lines.map((l) => l.person?.villageId ?? 0))]).select('id', 'name')) as { id: number; name: string }[]).map((v) => [v.id, v.name]));
  const body = await writeTableXlsx(
    '开卡名单',
    LIST_HEADER,
    lines.map((l, i) => [i + 1, villages.get(l.person?.villageId ?? 0) ?? '', l.person?.name ?? '', ids.get(l.person_id) ?? '', CARD_REASONS[l.reason], '', '社会保障卡', '', '']),
    new Date(request.created_at),
  );
  const encryptFor = encryptionKeyOf(await bankTermsToday(core, request.bank_org_id, request.county_id));
  if (options.delivered) await inTransaction(core.db, (trx) => recordAudit(trx, actor, { action: 'bank.card_request.download', objectType: 'card_request', objectId: request.id, summary: { lines: lines.length, ...(encryptFor ? { encryptedFor: fingerprintOf(encryptFor) } : {}) } }));
  return { fileName: `开卡名单-${request.township_name}-${request.id}.xlsx`, body, signature: await signFile(core, body), encryptFor };
}

const ANSWER_SPEC: TableSpec = { headerHas: ['身份证号码', '开卡结果'], required: ['身份证号码', '姓名', '开卡结果', '账号'], rowNoun: '开卡结果', formatHint: '格式见开卡申请说明：在下载的开卡名单中填写开卡结果、账户类型、账号和说明' };
const KIND_BY_LABEL = new Map(Object.entries(ACCOUNT_KIND_LABELS).map(([k, v]) => [v, k as AccountKind]));

export type CardAnswerOutcome = { ok: true; repeated: boolean; opened: number; notOpened: number } | { ok: false; errors: ImportError[]; report: Buffer };

/**
 * The bank's answer: the downloaded list with 开卡结果 (已开卡 / 未开卡), 账户类型, 账号 and 说明 filled in, for every
 * person on it. Checked whole (each person of the request once, the number valid for its kind, a reason when no
 * card was opened); applied in one transaction: each opened account becomes a pending registry account change.
 */
export async function answerCardRequest(core: Core, actor: Actor, requestId: number, file: { name: string; buffer: Buffer }, signature: Buffer | null = null): Promise<CardAnswerOutcome> {
  const request = await cardRequestInScope(core.db, actor, requestId);
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  const stored = await core.db('bank_card_request').where({ id: request.id }).first('answer_sha256');
  // The same answer again changes nothing (its bank uploading it twice is not a refusal).
  if (request.state === 'answered' && stored.answer_sha256 === sha256 && can(actor, 'download_card_list', request).ok) return { ok: true, repeated: true, opened: 0, notOpened: 0 };
  await authorize(core.db, actor, can(actor, 'answer_card_request', request), { objectType: 'card_request', objectId: requestId });
  const signed = signedBy(await bankTermsToday(core, request.bank_org_id, request.county_id), file.buffer, signature, '开卡结果文件');
  const table = await readTable(file.buffer, ANSWER_SPEC);
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await writeErrorReport('开卡结果', errors, null) };
  }
  const lines = await cardRequestLines(core.db, request.id);
  const byIndex = new Map(lines.map((l) => [l.person?.idIndex ?? '', l]));
  const errors: ImportError[] = [];
  const answers: { line: (typeof lines)[number]; opened: boolean; kind: AccountKind; number: string; note: string }[] = [];
  const seen = new Map<number, number>();
  const idColumn = table.columns.get('身份证号码');
  const ids = table.rows.map((row) => parseIdNumber(idColumn === undefined ? '' : (row.cells[idColumn] ?? '')));
  const indexOf = blindIndexesOf(core.crypto, 'id', ids.flatMap((id) => (id.ok ? [id.value.idNumber] : [])));
  for (const [r, row] of table.rows.entries()) {
    const cell = (name: string) => {
      const i = table.columns.get(name);
      return i === undefined ? '' : (row.cells[i] ?? '');
    };
    const fail = (field: string, message: string) => errors.push({ rowNumber: row.rowNumber, field, message });
    const id = ids[r]!;
    const line = id.ok ? byIndex.get(indexOf.get(id.value.idNumber)!) : undefined;
    if (!line) {
      fail('身份证号码', id.ok ? '此人不在本开卡申请中' : id.error);
      continue;
    }
    const first = seen.get(line.id);
    if (first !== undefined) fail('身份证号码', `与第 ${first} 行是同一人`);
    seen.set(line.id, row.rowNumber);
    if (cell('姓名') !== line.person!.name) fail('姓名', '与开卡名单不符');
    const result = cell('开卡结果');
    if (result !== '已开卡' && result !== '未开卡') {
      fail('开卡结果', '应为“已开卡”或“未开卡”');
      continue;
    }
    const kind = KIND_BY_LABEL.get(cell('账户类型') || '社会保障卡');
    if (result === '已开卡') {
      if (!kind) fail('账户类型', `应为${Object.values(ACCOUNT_KIND_LABELS).join('、')}之一`);
      if (!cell('账号')) fail('账号', '已开卡的须填写账号');
    } else if (!cell('说明')) fail('说明', '未开卡的须写明原因');
    if (freeTextProblem(cell('说明'))) fail('说明', freeTextProblem(cell('说明'))!);
    answers.push({ line, opened: result === '已开卡', kind: kind ?? 'sscard', number: cell('账号'), note: cell('说明') });
  }
  const missing = lines.filter((l) => !seen.has(l.id));
  if (missing.length) errors.push({ rowNumber: 0, field: '身份证号码', message: `缺少开卡名单中的 ${missing.length} 人：每人须有开卡结果` });
  if (errors.length) return { ok: false, errors, report: await writeErrorReport('开卡结果', errors, table) };
  const bank = await core.db('core_org').where({ id: request.bank_org_id }).first('name');
  try {
    return await inTransaction(core.db, async (trx) => {
      const updated = await trx('bank_card_request').where({ id: request.id, state: 'sent' }).update({ state: 'answered', answer_sha256: sha256, answer_name: file.name.slice(0, 200), answered_by: actor.userId, answered_at: nowIso(), bank_signature: signed?.signature ?? null, bank_key_fingerprint: signed?.key ?? null });
      if (updated !== 1) {
        // Answered meanwhile: by this same file sent twice at once (a double click, a second tab), or by another.
        const now: { answer_sha256: string | null } = await trx('bank_card_request').where({ id: request.id }).first('answer_sha256');
        if (now.answer_sha256 === sha256) return { ok: true as const, repeated: true, opened: 0, notOpened: 0 };
        throw new ConflictError('该开卡申请已回复');
      }
      for (const [i, a] of answers.entries()) {
        let changeId: number | null = null;
        if (a.opened) {
          try {
            changeId = await proposeOpenedAccount(trx, core, actor, a.line.person_id, { kind: a.kind, bankName: bank.name, number: a.number, holderName: a.line.person!.name }, `开卡申请 ${request.id}：代发金融机构新开卡（折）`);
          } catch (err) {
            if (err instanceof AppError) throw new RowRefusal({ rowNumber: seen.get(a.line.id) ?? i + 2, field: '账号', message: err instanceof ValidationError ? Object.values(err.fieldErrors)[0] ?? err.message : err.message });
            throw err;
          }
        }
        await trx('bank_card_request_line').where({ id: a.line.id }).update({ outcome: a.opened ? 'opened' : 'not_opened', outcome_note: a.note.slice(0, 200) || null, change_request_id: changeId });
      }
      const opened = answers.filter((a) => a.opened).length;
      await recordAudit(trx, actor, { action: 'bank.card_request.answer', objectType: 'card_request', objectId: request.id, summary: { file: file.name, sha256, opened, notOpened: answers.length - opened, ...(signed ? { signedBy: signed.key } : {}) } });
      return { ok: true as const, repeated: false, opened, notOpened: answers.length - opened };
    });
  } catch (err) {
    if (!(err instanceof RowRefusal)) throw err;
    return { ok: false, errors: [err.error], report: await writeErrorReport('开卡结果', [err.error], table) };
  }
}

/** A row the registry refused while applying (the transaction is rolled back; the file is refused whole). */
class RowRefusal extends Error {
  constructor(readonly error: ImportError) {
    super(error.message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Completion receipts (发放完成回执单)

const RECEIPT_TYPES: { type: string; magic: Buffer }[] = [
  { type: 'application/pdf', magic: Buffer.from('%PDF-') },
  { type: 'image/png', magic: Buffer.from([0x89, 0x50, 0x4e, 0x47]) },
  { type: 'image/jpeg', magic: Buffer.from([0xff, 0xd8, 0xff]) },
];

/** The bank uploads its completion receipt of a round released to it (PDF or a scan); the same file twice is kept once. */
export async function uploadReceipt(core: Core, actor: Actor, roundId: number, file: { name: string; buffer: Buffer }, note: string): Promise<{ repeated: boolean }> {
  const round = actor.orgId === null ? undefined : (await roundsOfBank(core.db, actor.orgId)).find((r) => r.id === roundId);
  if (!round) throw new NotFoundError('没有下达到本机构的该发放批次');
  await authorize(core.db, actor, can(actor, 'upload_receipt', round), { objectType: 'round', objectId: roundId });
  const type = RECEIPT_TYPES.find((t) => file.buffer.subarray(0, t.magic.length).equals(t.magic));
  if (!type) throw new ValidationError({ file: '回执应为 PDF 或扫描图片（PNG、JPEG）' });
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  return inTransaction(core.db, async (trx) => {
    if (!(await claimFileDigest(trx, 'bank_receipt', { round_id: roundId, sha256 }))) return { repeated: true };
    const id = await insertReturningId(trx, 'bank_receipt', { round_id: roundId, bank_org_id: actor.orgId, file_name: file.name.slice(0, 200), content_type: type.type, body: file.buffer, sha256, note: note.trim().slice(0, 200) || null, uploaded_by: actor.userId, uploaded_at: nowIso() });
    await recordAudit(trx, actor, { action: 'bank.receipt.upload', objectType: 'round', objectId: roundId, summary: { receipt: id, file: file.name, sha256, bytes: file.buffer.length } });
    return { repeated: false };
  });
}
