import { recordAudit } from '../../core/audit.ts';
import { authorize } from '../../core/authz.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { isBusinessDate } from '../../core/dates.ts';
import { type Conn, type Tx, countRows, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { maskIdNumber, maskName, maskPhone } from '../../core/mask.ts';
import { regionInScope } from '../../core/regions.ts';
import { type AccountKind, ACCOUNT_KIND_LABELS, parseAccountNumber } from './account-number.ts';
import { type IdNumberInfo, parseIdNumber } from './id-number.ts';
import { type PersonStatus, type Relation, STATUSES } from './model.ts';
import { importInScope, personInScope } from './queries.ts';
import { can } from './policy.ts';
import { type NonCardReason, nonCardColumns, nonCardReasonProblems, nonCardReasonText } from './card-first.ts';

/**
 * Registry commands. The township station (经办站所) registers and corrects people; what affects payments (a newly
 * registered person's first payout account, a change of account or status) waits for the township finance office
 * (财政所), and nobody confirms their own registration or request. Every command runs in one transaction and writes
 * its audit row with personal data masked.
 */

export interface AccountInput {
  kind: AccountKind;
  bankName: string;
  number: string;
  holderName: string;
  /** Why the account is not a 社保卡 (card-first.ts), required for a bank card or passbook entered by a form; null for a 社保卡. */
  nonCardReason?: NonCardReason | null;
  /** The explanation of the reason 其他. */
  nonCardNote?: string | null;
}

export interface PersonInput {
  name: string;
  idNumber: string;
  villageId: number;
  relation: Relation;
  /** For anyone but a household head: the head's person id (same village). */
  headPersonId: number | null;
  phone: string | null;
  account: AccountInput | null;
}

/** An account ready to store: number checked (not the holder's ID number, when given), encrypted, indexed; a Luhn failure is kept as a warning. */
export function sealAccount(core: Core, input: AccountInput, holderIdNumber: string | null = null) {
  return sealAccounts(core, [input], [holderIdNumber])[0]!;
}

/** sealAccount for many accounts at once (an import's), their numbers encrypted in one pass; holderIdNumbers[i] is input i's holder's, when given. */
export function sealAccounts(core: Core, inputs: readonly AccountInput[], holderIdNumbers: readonly (string | null)[] = []) {
  const checked = inputs.map((input, i) => {
    const parsed = parseAccountNumber(input.kind, input.number, holderIdNumbers[i] ?? null);
    if (!parsed.ok) throw new ValidationError({ accountNumber: parsed.error });
    return parsed;
  });
  const numbers = checked.map((c) => c.accountNumber);
  const encrypted = core.crypto.encryptMany(numbers);
  const indexes = core.crypto.blindIndexMany('account', numbers);
  return inputs.map((input, i) => ({
    kind: input.kind,
    bank_name: input.bankName,
    account_enc: encrypted[i]!,
    account_index: indexes[i]!,
    account_last4: numbers[i]!.slice(-4),
    holder_name: input.holderName,
    luhn_warning: checked[i]!.luhnFailed,
    ...nonCardColumns(input),
  }));
}

/** A bank card or passbook entered by a form needs its reason (社保卡优先, card-first.ts); refused naming the field. */
function requireNonCardReason(account: AccountInput): void {
  const problems = nonCardReasonProblems(account);
  if (Object.keys(problems).length) throw new ValidationError(problems);
}

/** A registered person's ID number, which their payout account must not be. */
async function idNumberOf(conn: Conn, core: Core, personId: number): Promise<string | null> {
  const person: { id_enc: string } | undefined = await conn('beneficiary_person').where({ id: personId }).first('id_enc');
  return person ? core.crypto.decrypt(person.id_enc) : null;
}

export type SealedAccount = ReturnType<typeof sealAccount>;

async function insertActiveAccount(trx: Tx, actor: Actor, personId: number, sealed: SealedAccount, reason: string | null): Promise<number> {
  return insertReturningId(trx, 'beneficiary_account', { person_id: personId, ...sealed, status: 'active', active_person_id: personId, opened_by: actor.userId, opened_at: nowIso(), change_reason: reason });
}

/**
 * The row of a newly registered person's first payout account: pending until the township finance office confirms
 * it (decideAccount; a file's together, decideImportAccounts). Not active meanwhile, so not payable.
 */
export function pendingAccountRow(actor: Actor, personId: number, sealed: SealedAccount, reason: string, importId: number | null) {
  return { person_id: personId, ...sealed, status: 'pending', active_person_id: null, opened_by: actor.userId, opened_at: nowIso(), change_reason: reason, import_id: importId };
}

/** How a newly registered account reads in the confirmation list and the audit log (the number masked). */
export function newAccountSummary(account: { kind: AccountKind; bank_name: string; account_last4: string; luhn_warning: boolean }): string {
  return `登记发放账户 ${account.bank_name}${ACCOUNT_KIND_LABELS[account.kind]} ****${account.account_last4}${account.luhn_warning ? '（卡号校验位不符，请核对）' : ''}`;
}

export interface NewPerson {
  name: string;
  id: IdNumberInfo;
  idIndex?: string;
  villageId: number;
  householdId: number | null;
  relation: Relation;
  phone: string | null;
}

/** The row of a newly registered person (ID number encrypted, indexed and masked; phone encrypted). */
export function newPersonRow(core: Core, actor: Actor, p: NewPerson) {
  return newPersonRows(core, actor, [p])[0]!;
}

/** newPersonRow for many people at once (an import's), their ID numbers and phones encrypted in one pass each. */
export function newPersonRows(core: Core, actor: Actor, people: readonly NewPerson[]) {
  const now = nowIso();
  const ids = core.crypto.encryptMany(people.map((p) => p.id.idNumber));
  const phones = core.crypto.encryptMany(people.flatMap((p) => (p.phone ? [p.phone] : [])));
  let nextPhone = 0;
  return people.map((p, i) => ({
    name: p.name,
    id_enc: ids[i]!,
    id_index: p.idIndex ?? core.crypto.blindIndex('id', p.id.idNumber),
    id_masked: maskIdNumber(p.id.idNumber),
    birth_date: p.id.birthDate,
    sex: p.id.sex,
    village_id: p.villageId,
    household_id: p.householdId,
    relation: p.relation,
    phone_enc: p.phone ? phones[nextPhone++]! : null,
    phone_masked: p.phone ? maskPhone(p.phone) : null,
    status: 'active',
    created_by: actor.userId,
    created_at: now,
    updated_by: actor.userId,
    updated_at: now,
  }));
}

/**
 * Register a person (and, for a head, their household) in a village of the station's township. Their account, if
 * given, waits for the township finance office's confirmation.
 */
export async function registerPerson(core: Core, actor: Actor, input: PersonInput): Promise<number> {
  await authorize(core.db, actor, can(actor, 'register', null), { objectType: 'person' });
  const village = await regionInScope(core.db, actor, input.villageId);
  if (village.level !== 'village') throw new ValidationError({ villageId: '请选择村（社区）' });
  const id = parseIdNumber(input.idNumber);
  if (!id.ok) throw new ValidationError({ idNumber: id.error });
  if (input.account) requireNonCardReason(input.account);
  const sealedAccount = input.account ? sealAccount(core, input.account, id.value.idNumber) : null;
  const idIndex = core.crypto.blindIndex('id', id.value.idNumber);
  return inTransaction(core.db, async (trx) => {
    const existing = await trx('beneficiary_person as p').join('core_region as v', 'v.id', 'p.village_id').where('p.id_index', idIndex).first('v.name as village');
    if (existing) throw new ValidationError({ idNumber: `该身份证号码已登记在“${existing.village}”，一人只能登记一次` });
    let householdId: number | null;
    if (input.relation === 'head') {
      householdId = await insertReturningId(trx, 'beneficiary_household', { village_id: village.id, created_at: nowIso(), updated_at: nowIso() });
    } else {
      const head: { household_id: number | null; village_id: number } | undefined = input.headPersonId ? await trx('beneficiary_person').where({ id: input.headPersonId, relation: 'head' }).first('household_id', 'village_id') : undefined;
      if (!head || head.village_id !== village.id) throw new ValidationError({ headPersonId: '请选择同村已登记的户主' });
      householdId = head.household_id;
    }
    const personId = await insertReturningId(trx, 'beneficiary_person', newPersonRow(core, actor, { name: input.name, id: id.value, villageId: village.id, householdId, relation: input.relation, phone: input.phone }));
    if (input.relation === 'head') await trx('beneficiary_household').where({ id: householdId }).update({ head_person_id: personId });
    if (sealedAccount) await insertReturningId(trx, 'beneficiary_account', pendingAccountRow(actor, personId, sealedAccount, '登记时提供', null));
    await recordAudit(trx, actor, {
      action: 'beneficiary.register',
      objectType: 'person',
      objectId: personId,
      summary: {
        name: maskName(input.name),
        id: maskIdNumber(id.value.idNumber),
        village: village.name,
        relation: input.relation,
        converted15: id.value.convertedFrom !== null,
        account: sealedAccount ? `${ACCOUNT_KIND_LABELS[sealedAccount.kind]} ****${sealedAccount.account_last4}` : null,
        accountPending: sealedAccount !== null,
      },
    });
    return personId;
  });
}

/** How an account change reads in lists and the audit log (the number masked). */
export function accountChangeSummary(account: AccountInput, number: string, luhnWarning: boolean): string {
  const reason = account.kind === 'sscard' || !account.nonCardReason ? '' : `（未使用社保卡原因：${nonCardReasonText(account.nonCardReason, account.nonCardNote ?? null)}）`;
  return `更换发放账户为 ${account.bankName}${ACCOUNT_KIND_LABELS[account.kind]} ****${number.slice(-4)}${luhnWarning ? '（卡号校验位不符，请核对）' : ''}${reason}`;
}

export type ChangeRequest =
  | { kind: 'account'; account: AccountInput }
  | { kind: 'status'; status: PersonStatus; date: string; source: string };

/** The station asks for a change that affects payments; it waits for the township finance office. */
export async function requestChange(core: Core, actor: Actor, personId: number, change: ChangeRequest, reason: string): Promise<number> {
  await authorize(core.db, actor, can(actor, 'register', null), { objectType: 'person' });
  const person = await personInScope(core.db, actor, personId);
  let summary: string;
  if (change.kind === 'account') {
    requireNonCardReason(change.account);
    const parsed = parseAccountNumber(change.account.kind, change.account.number, await idNumberOf(core.db, core, personId));
    if (!parsed.ok) throw new ValidationError({ accountNumber: parsed.error });
    summary = accountChangeSummary(change.account, parsed.accountNumber, parsed.luhnFailed);
  } else {
    if (!isBusinessDate(change.date)) throw new ValidationError({ statusDate: '日期应为 YYYY-MM-DD 格式的有效日期' });
    if (change.status === person.status) throw new ValidationError({ status: `该对象已是“${STATUSES[change.status]}”状态` });
    summary = `状态由“${STATUSES[person.status]}”改为“${STATUSES[change.status]}”（${change.date}，${change.source}）`;
  }
  return inTransaction(core.db, (trx) => insertChangeRequest(trx, core, actor, personId, change, summary, reason));
}

async function insertChangeRequest(trx: Tx, core: Core, who: { userId: number; username: string; ip: string | null }, personId: number, change: ChangeRequest, summary: string, reason: string): Promise<number> {
  if (await trx('beneficiary_change_request').where({ person_id: personId, kind: change.kind, state: 'pending' }).first('id')) {
    throw new ConflictError('该对象已有同类变更在等待财政所确认');
  }
  if (change.kind === 'account' && (await trx('beneficiary_account').where({ person_id: personId, status: 'pending' }).first('id'))) {
    throw new ConflictError('该对象登记的发放账户正在等待财政所确认：确认或退回后才能申请更换');
  }
  const id = await insertReturningId(trx, 'beneficiary_change_request', {
    person_id: personId,
    kind: change.kind,
    payload_enc: core.crypto.encrypt(JSON.stringify(change)),
    summary,
    reason,
    requested_by: who.userId,
    requested_at: nowIso(),
    state: 'pending',
  });
  await recordAudit(trx, who, { action: 'beneficiary.change.request', objectType: 'person', objectId: personId, summary: { request: id, change: summary, reason } });
  return id;
}

/**
 * An account the agent bank opened for a person (card-opening requests, issue 8): it becomes an account change
 * request like the station's, for the township finance office to confirm; nothing changes until then. Runs in the
 * caller's transaction. The number must be valid for its kind and the account must be in the person's name.
 */
export async function proposeOpenedAccount(trx: Tx, core: Core, who: Actor, personId: number, account: AccountInput, reason: string): Promise<number> {
  const parsed = parseAccountNumber(account.kind, account.number, await idNumberOf(trx, core, personId));
  if (!parsed.ok) throw new ValidationError({ accountNumber: parsed.error });
  return insertChangeRequest(trx, core, who, personId, { kind: 'account', account }, accountChangeSummary(account, parsed.accountNumber, parsed.luhnFailed), reason);
}

/**
 * The township finance office confirms or rejects a pending change; nobody decides their own request. A
 * confirmed account change closes the active account and opens the new one (history kept); a confirmed status
 * change records the date and source.
 */
export async function decideChange(core: Core, actor: Actor, requestId: number, decision: { approve: boolean; note: string | null }): Promise<void> {
  const request: { person_id: number; payload_enc: string; summary: string; reason: string; requested_by: number; state: string } | undefined = await core.db('beneficiary_change_request').where({ id: requestId }).first();
  if (!request) throw new NotFoundError('变更申请不存在');
  await personInScope(core.db, actor, request.person_id);
  await authorize(core.db, actor, can(actor, 'decide_change', { requestedBy: request.requested_by, pending: request.state === 'pending' }), { objectType: 'change_request', objectId: requestId });
  const change = JSON.parse(core.crypto.decrypt(request.payload_enc)) as ChangeRequest;
  const sealed = change.kind === 'account' ? sealAccount(core, change.account, await idNumberOf(core.db, core, request.person_id)) : null;
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('beneficiary_change_request')
      .where({ id: requestId, state: 'pending' })
      .update({ state: decision.approve ? 'confirmed' : 'rejected', decided_by: actor.userId, decided_at: nowIso(), decision_note: decision.note });
    if (updated !== 1) throw new ConflictError('该变更已被处理');
    const personId = request.person_id;
    if (decision.approve && sealed) {
      await trx('beneficiary_account').where({ person_id: personId, status: 'active' }).update({ status: 'closed', active_person_id: null, closed_by: actor.userId, closed_at: nowIso() });
      await insertActiveAccount(trx, actor, personId, sealed, request.reason);
    } else if (decision.approve && change.kind === 'status') {
      await trx('beneficiary_person')
        .where({ id: personId })
        .update({ status: change.status, status_date: change.date, status_source: change.source, version: trx.raw('version + 1'), updated_by: actor.userId, updated_at: nowIso() });
    }
    await recordAudit(trx, actor, {
      action: decision.approve ? 'beneficiary.change.confirm' : 'beneficiary.change.reject',
      objectType: 'person',
      objectId: personId,
      summary: { request: requestId, change: request.summary, note: decision.note },
    });
  });
}

/**
 * The township finance office confirms or refuses a newly registered person's first account, registered by the
 * form; never the one who registered it. Confirmed, it becomes the person's active account; refused, the person
 * stays registered without one (the station may then ask for an account change).
 */
export async function decideAccount(core: Core, actor: Actor, accountId: number, decision: { approve: boolean; note: string | null }): Promise<void> {
  const account: { person_id: number; status: string; opened_by: number; import_id: number | null; kind: AccountKind; bank_name: string; account_last4: string; luhn_warning: boolean } | undefined = await core
    .db('beneficiary_account')
    .where({ id: accountId })
    .first('person_id', 'status', 'opened_by', 'import_id', 'kind', 'bank_name', 'account_last4', 'luhn_warning');
  if (!account) throw new NotFoundError('发放账户不存在');
  await personInScope(core.db, actor, account.person_id);
  await authorize(core.db, actor, can(actor, 'decide_account', { openedBy: account.opened_by, pending: account.status === 'pending', imported: account.import_id !== null }), { objectType: 'person', objectId: account.person_id });
  await inTransaction(core.db, async (trx) => {
    const decided = { decided_by: actor.userId, decided_at: nowIso(), decision_note: decision.note };
    const updated = await trx('beneficiary_account')
      .where({ id: accountId, status: 'pending' })
      .whereNull('import_id')
      .update(decision.approve ? { status: 'active', active_person_id: account.person_id, ...decided } : { status: 'refused', ...decided });
    if (updated !== 1) throw new ConflictError('该账户已被处理');
    await recordAudit(trx, actor, {
      action: decision.approve ? 'beneficiary.account.confirm' : 'beneficiary.account.reject',
      objectType: 'person',
      objectId: account.person_id,
      summary: { account: accountId, change: newAccountSummary({ ...account, luhn_warning: Boolean(account.luhn_warning) }), note: decision.note },
    });
  });
}

/**
 * The township finance office confirms or refuses the new accounts of a registry import together, after seeing
 * their list and warnings (the page of the import's new accounts); never the one who imported the file. One
 * transaction, one audit row with the count. `version` is the import's as the page showed it: a decision from a
 * stale page is refused. Refused, the file's new people stay registered without an active account.
 */
export async function decideImportAccounts(core: Core, actor: Actor, importId: number, decision: { approve: boolean; note: string | null; version: number }): Promise<number> {
  const file = await importInScope(core.db, actor, importId);
  await authorize(core.db, actor, can(actor, 'decide_import_accounts', { importedBy: file.imported_by, pending: file.accounts_state === 'pending' }), { objectType: 'import', objectId: importId });
  return inTransaction(core.db, async (trx) => {
    const now = nowIso();
    const updated = await trx('beneficiary_import')
      .where({ id: importId, accounts_state: 'pending', version: decision.version })
      .update({ accounts_state: decision.approve ? 'confirmed' : 'refused', accounts_decided_by: actor.userId, accounts_decided_at: now, accounts_note: decision.note, version: decision.version + 1 });
    if (updated !== 1) throw new ConflictError('该次导入的新账户已被他人处理，或页面已过期：请刷新后重新核对');
    const waiting = trx('beneficiary_account').where({ import_id: importId, status: 'pending' });
    const luhnWarnings = await countRows(waiting.clone().where('luhn_warning', true));
    const decided = { decided_by: actor.userId, decided_at: now, decision_note: decision.note };
    const accounts = await waiting.update(decision.approve ? { status: 'active', active_person_id: trx.ref('person_id'), ...decided } : { status: 'refused', ...decided });
    await recordAudit(trx, actor, {
      action: decision.approve ? 'beneficiary.import.confirm_accounts' : 'beneficiary.import.reject_accounts',
      objectType: 'import',
      objectId: importId,
      summary: { file: file.file_name, accounts, luhnWarnings, note: decision.note },
    });
    return accounts;
  });
}

export interface PersonCorrection {
  name: string;
  /** A new phone number; null keeps the one on record. */
  phone: string | null;
  relation: Relation;
  /** The version the form was built from: a save over someone else's is refused. */
  version: number;
}

/**
 * The station corrects what does not affect payments (name as on the ID card, phone, relation to the head).
 * The ID number, village and household stay; account and status go through requestChange.
 */
export async function correctPerson(core: Core, actor: Actor, personId: number, input: PersonCorrection): Promise<void> {
  await authorize(core.db, actor, can(actor, 'register', null), { objectType: 'person' });
  const before = await personInScope(core.db, actor, personId);
  if ((before.relation === 'head') !== (input.relation === 'head')) throw new ValidationError({ relation: '户主变更须先登记新户主，不能在此修改' });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('beneficiary_person')
      .where({ id: personId, version: input.version })
      .update({
        name: input.name,
        ...(input.phone ? { phone_enc: core.crypto.encrypt(input.phone), phone_masked: maskPhone(input.phone) } : {}),
        relation: input.relation,
        version: input.version + 1,
        updated_by: actor.userId,
        updated_at: nowIso(),
      });
    if (updated !== 1) throw new ConflictError('该对象已被他人修改，请刷新后重新填写');
    await recordAudit(trx, actor, {
      action: 'beneficiary.correct',
      objectType: 'person',
      objectId: personId,
      summary: {
        before: { name: maskName(before.name), phone: before.phone_masked, relation: before.relation },
        after: { name: maskName(input.name), phone: input.phone ? maskPhone(input.phone) : before.phone_masked, relation: input.relation },
      },
    });
  });
}
