import { createHash } from 'node:crypto';
import { recordAudit } from '../../core/audit.ts';
import { authorize } from '../../core/authz.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { type Conn, type Tx, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { formatYuan } from '../../core/money.ts';
import { findRegion, pathIds } from '../../core/regions.ts';
import { businessYear } from '../../core/dates.ts';
import type { ImportError } from '../../core/spreadsheet.ts';
import { type PolicyFields, type PolicyLevel, formatTierText, parsePolicyImport, policyImportReport } from './files.ts';
import { can } from './policy.ts';
import { listRegionFor, policyVersions } from './queries.ts';
import { type AllocationInput, type PolicyVersion, hydrate, versionQuery } from './repo.ts';

/** The fields a department writes for a version of a policy. */
export interface PolicyInput extends PolicyFields {
  /** The year from which this version applies (for a first version, its first year). */
  effectiveYear: number;
  confidential: boolean;
  /** 救助类: public employees may not receive it (the rounds under it run that check). */
  meansTested: boolean;
  /** 突发灾害应急救助 (Qinghai 二(一)2): its rounds may be paid first and publicised after payment. */
  emergencyRelief: boolean;
  exclusiveGroups: string[];
  changeNote: string | null;
}

const LEVEL_OF_REGION: Record<string, PolicyLevel | undefined> = { province: 'province', city: 'city', county: 'county' };

function summary(input: PolicyInput) {
  return {
    name: input.name,
    basis: `${input.legalBasisTitle}（${input.legalBasisNumber}）`,
    payee: input.payee,
    frequency: input.frequency,
    standard: input.tiers.map((t) => `${t.name}:${formatYuan(t.standardFen)}元/${input.unit}`).join(';'),
    years: `${input.fromYear}-${input.toYear ?? ''}`,
    effective: input.effectiveYear,
    confidential: input.confidential,
    meansTested: input.meansTested,
    emergencyRelief: input.emergencyRelief,
    exclusive: input.exclusiveGroups.join(';'),
  };
}

function checkYears(input: PolicyInput, latestPublished: PolicyVersion | null): void {
  const errors: Record<string, string> = {};
  if (input.toYear !== null && input.toYear < input.fromYear) errors.toYear = '截止年度不能早于起始年度';
  if (!latestPublished && input.effectiveYear !== input.fromYear) errors.effectiveYear = '首个版本自起始年度起执行';
  if (latestPublished && input.effectiveYear < latestPublished.effectiveYear) {
    errors.effectiveYear = `调整只能自 ${latestPublished.effectiveYear} 年（现行版本的执行年度）或以后执行，不能改写已执行年度的标准`;
  }
  if (Object.keys(errors).length) throw new ValidationError(errors);
}

async function writeDetails(trx: Tx, versionId: number, input: PolicyInput): Promise<void> {
  await trx('policy_tier').where({ version_id: versionId }).delete();
  await trx('policy_exclusion').where({ version_id: versionId }).delete();
  await trx('policy_tier').insert(input.tiers.map((t, position) => ({ version_id: versionId, position, name: t.name, standard_fen: t.standardFen })));
  if (input.exclusiveGroups.length) await trx('policy_exclusion').insert(input.exclusiveGroups.map((group_name) => ({ version_id: versionId, group_name })));
}

function versionColumns(input: PolicyInput) {
  return {
    effective_year: input.effectiveYear,
    name: input.name,
    legal_basis_title: input.legalBasisTitle,
    legal_basis_number: input.legalBasisNumber,
    payee: input.payee,
    frequency: input.frequency,
    unit: input.unit,
    from_year: input.fromYear,
    to_year: input.toYear,
    confidential: input.confidential,
    means_tested: input.meansTested,
    emergency_relief: input.emergencyRelief,
    change_note: input.changeNote,
  };
}

/** The region a department sets policies for, and their level: its own (province, city or county). */
async function departmentRegion(core: Core, actor: Actor): Promise<{ regionId: number; level: PolicyLevel }> {
  await authorize(core.db, actor, can(actor, 'create', null), { objectType: 'policy' });
  const org = await core.db('core_org').where({ id: actor.orgId }).first();
  const region = org ? await findRegion(core.db, org.region_id) : undefined;
  const level = region ? LEVEL_OF_REGION[region.level] : undefined;
  if (!region || !level) throw new ForbiddenError('所属单位不在省、市、县级，不能制定补贴项目');
  return { regionId: region.id, level };
}

async function insertPolicy(trx: Tx, actor: Actor, at: { regionId: number; level: PolicyLevel }, input: PolicyInput & { code: string }): Promise<{ itemId: number; versionId: number }> {
  checkYears(input, null);
  if (await trx('policy_item').where({ code: input.code }).first('id')) throw new ValidationError({ code: `编码“${input.code}”已被使用` });
  const itemId = await insertReturningId(trx, 'policy_item', { code: input.code, level: at.level, region_id: at.regionId, department_org_id: actor.orgId, created_by: actor.userId, created_at: nowIso() });
  const versionId = await insertReturningId(trx, 'policy_version', { item_id: itemId, version_no: 1, state: 'draft', ...versionColumns(input), edited_by: actor.userId, edited_at: nowIso() });
  await writeDetails(trx, versionId, input);
  await recordAudit(trx, actor, { action: 'policy.create', objectType: 'policy', objectId: itemId, summary: { code: input.code, after: summary(input) } });
  return { itemId, versionId };
}

/** A department adds a policy of its own region: a new item with its first version as a draft. */
export async function createPolicy(core: Core, actor: Actor, input: PolicyInput & { code: string }): Promise<{ itemId: number; versionId: number }> {
  const at = await departmentRegion(core, actor);
  return inTransaction(core.db, (trx) => insertPolicy(trx, actor, at, input));
}

async function saveDraft(trx: Tx, actor: Actor, versions: PolicyVersion[], input: PolicyInput & { revision: number | null }): Promise<number> {
  const itemId = versions[0]!.itemId;
  const open = versions.find((v) => v.state !== 'published') ?? null;
  const latestPublished = versions.find((v) => v.state === 'published') ?? null;
  checkYears(input, latestPublished);
  let versionId: number;
  if (open) {
    if (input.revision !== open.revision) throw new ConflictError('该草稿已被他人修改，请刷新后重新编辑');
    const updated = await trx('policy_version')
      .where({ id: open.id, revision: open.revision })
      .whereIn('state', ['draft', 'returned'])
      .update({ ...versionColumns(input), state: 'draft', return_reason: null, revision: open.revision + 1, edited_by: actor.userId, edited_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该草稿已被他人修改或已发布，请刷新后重新编辑');
    versionId = open.id;
  } else {
    versionId = await insertReturningId(trx, 'policy_version', {
      item_id: itemId,
      version_no: versions[0]!.versionNo + 1,
      state: 'draft',
      ...versionColumns(input),
      edited_by: actor.userId,
      edited_at: nowIso(),
    });
  }
  await writeDetails(trx, versionId, input);
  const before = open ?? latestPublished;
  await recordAudit(trx, actor, { action: 'policy.draft.save', objectType: 'policy', objectId: itemId, summary: { code: versions[0]!.code, before: before ? summary(before) : null, after: summary(input) } });
  return versionId;
}

/**
 * A department edits its policy: the open draft (or returned draft) is updated, guarded by the revision the
 * form was built from; without one, a new draft version is started. Published versions never change.
 */
export async function savePolicyDraft(core: Core, actor: Actor, itemId: number, input: PolicyInput & { revision: number | null }): Promise<number> {
  const versions = await policyVersions(core.db, itemId);
  if (!versions.length) throw new NotFoundError('补贴项目不存在');
  await authorize(core.db, actor, can(actor, 'edit', versions[0]!), { objectType: 'policy', objectId: itemId });
  return inTransaction(core.db, (trx) => saveDraft(trx, actor, versions, input));
}

async function loadVersion(trx: Conn, versionId: number): Promise<PolicyVersion> {
  const [version] = await hydrate(trx, await versionQuery(trx).where('v.id', versionId));
  if (!version) throw new NotFoundError('版本不存在');
  return version;
}

/** The finance section of the setting region publishes a draft (program review), never its own edit. */
export async function publishPolicyVersion(core: Core, actor: Actor, versionId: number, revision: number): Promise<void> {
  const version = await loadVersion(core.db, versionId);
  await authorize(core.db, actor, can(actor, 'publish', version), { objectType: 'policy', objectId: version.itemId });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('policy_version')
      .where({ id: versionId, state: 'draft', revision })
      .update({ state: 'published', published_by: actor.userId, published_at: nowIso() });
    if (updated !== 1) throw new ConflictError('该版本已被修改、退回或发布，请刷新后查看');
    await recordAudit(trx, actor, { action: 'policy.publish', objectType: 'policy', objectId: version.itemId, summary: { code: version.code, version: version.versionNo, effective: version.effectiveYear, editor: version.editedBy } });
  });
}

/** The finance section returns a draft to the department, with the reason. */
export async function returnPolicyVersion(core: Core, actor: Actor, versionId: number, revision: number, reason: string): Promise<void> {
  const version = await loadVersion(core.db, versionId);
  await authorize(core.db, actor, can(actor, 'publish', version), { objectType: 'policy', objectId: version.itemId });
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('policy_version').where({ id: versionId, state: 'draft', revision }).update({ state: 'returned', return_reason: reason });
    if (updated !== 1) throw new ConflictError('该版本已被修改、退回或发布，请刷新后查看');
    await recordAudit(trx, actor, { action: 'policy.return', objectType: 'policy', objectId: version.itemId, summary: { code: version.code, version: version.versionNo, reason } });
  });
}

/** The finance section records a budget allocation document (指标文件) for a policy of its county's list. */
export async function recordAllocation(core: Core, actor: Actor, input: AllocationInput): Promise<number> {
  const county = await listRegionFor(core.db, actor.regionId);
  await authorize(core.db, actor, can(actor, 'allocate', county), { objectType: 'policy', objectId: input.itemId });
  const item = (await core.db('policy_item').where({ id: input.itemId }).first()) as { code: string; region_id: number | null } | undefined;
  const inList = item && (item.region_id === null || pathIds(county.path).includes(item.region_id));
  if (!inList) throw new ValidationError({ itemId: '该补贴项目不在本县政策清单中' });
  return inTransaction(core.db, async (trx) => {
    if (await trx('policy_allocation').where({ county_id: county.id, item_id: input.itemId, year: input.year, doc_number: input.docNumber }).first('id')) {
      throw new ValidationError({ docNumber: `${input.year} 年已登记过文号为“${input.docNumber}”的指标` });
    }
    const id = await insertReturningId(trx, 'policy_allocation', {
      county_id: county.id,
      item_id: input.itemId,
      year: input.year,
      amount_fen: input.amountFen,
      doc_number: input.docNumber,
      doc_title: input.docTitle,
      doc_date: input.docDate,
      recorded_by: actor.userId,
      recorded_at: nowIso(),
    });
    await recordAudit(trx, actor, { action: 'policy.allocation.record', objectType: 'policy', objectId: input.itemId, summary: { code: item.code, year: input.year, amount: formatYuan(input.amountFen), doc: input.docNumber } });
    return id;
  });
}

export type ImportOutcome = { ok: true; repeated: boolean; created: number; changed: number; unchanged: number } | { ok: false; errors: ImportError[]; report: Buffer };

function sameContent(v: PolicyVersion, input: PolicyInput): boolean {
  return (
    v.name === input.name &&
    v.legalBasisTitle === input.legalBasisTitle &&
    v.legalBasisNumber === input.legalBasisNumber &&
    v.payee === input.payee &&
    v.frequency === input.frequency &&
    v.unit === input.unit &&
    v.fromYear === input.fromYear &&
    v.toYear === input.toYear &&
    v.meansTested === input.meansTested &&
    v.emergencyRelief === input.emergencyRelief &&
    formatTierText(v.tiers) === formatTierText(input.tiers) &&
    [...v.exclusiveGroups].sort().join(';') === [...input.exclusiveGroups].sort().join(';')
  );
}

/**
 * A department imports its policies from Excel (the export's format): the file is checked whole, and either
 * every row is applied in one transaction (new items and changes become drafts for the finance section) or
 * nothing is, and the department gets the report of bad rows. The same file again (by its SHA-256, the
 * department's earlier imports) changes nothing and is not read; sent twice at once, it is imported once.
 * A changed row applies from this year, or from the current version's year if that is later; confidentiality
 * and 突发灾害应急救助 are not in the file and stay as they were (a new item from a file is neither: the department
 * marks it on the form), and so does 救助类 when the file has no such column (an older export).
 */
export async function importPolicies(core: Core, actor: Actor, file: { name: string; buffer: Buffer }): Promise<ImportOutcome> {
  const at = await departmentRegion(core, actor);
  const key = { department_org_id: actor.orgId!, file_sha256: createHash('sha256').update(file.buffer).digest('hex') };
  const importedBefore = async (conn: Conn): Promise<ImportOutcome | null> => {
    const row: { rows: number } | undefined = await conn('policy_import').where(key).first('rows');
    return row ? { ok: true, repeated: true, created: 0, changed: 0, unchanged: row.rows } : null;
  };
  const previous = await importedBefore(core.db);
  if (previous) return previous;
  const parsed = await parsePolicyImport(file.buffer);
  if (!parsed.ok) return parsed;
  const existing: { id: number; code: string; department_org_id: number }[] = await core.db('policy_item').whereIn('code', parsed.rows.map((r) => r.code));
  const errors: ImportError[] = [];
  for (const row of parsed.rows) {
    if (row.department !== actor.orgName) errors.push({ rowNumber: row.rowNumber, field: '主管部门', message: `只能导入本单位（${actor.orgName}）的补贴项目` });
    const item = existing.find((e) => e.code === row.code);
    if (item && item.department_org_id !== actor.orgId) errors.push({ rowNumber: row.rowNumber, field: '编码', message: '该编码是其他单位的补贴项目' });
  }
  if (errors.length) return { ok: false, errors, report: await policyImportReport(errors, parsed.table) };

  const thisYear = businessYear();
  return inTransaction(core.db, async (trx): Promise<ImportOutcome> => {
    if (!(await claimFileDigest(trx, 'policy_import', key))) return (await importedBefore(trx))!;
    // The items as they are now: another import may have added some since the check above.
    const current: { id: number; code: string; department_org_id: number }[] = await trx('policy_item').whereIn('code', parsed.rows.map((r) => r.code));
    const outcome = { ok: true as const, repeated: false, created: 0, changed: 0, unchanged: 0 };
    for (const row of parsed.rows) {
      const base = {
        name: row.name,
        legalBasisTitle: row.legalBasisTitle,
        legalBasisNumber: row.legalBasisNumber,
        payee: row.payee,
        frequency: row.frequency,
        unit: row.unit,
        tiers: row.tiers,
        fromYear: row.fromYear,
        toYear: row.toYear,
        exclusiveGroups: row.exclusiveGroup ? row.exclusiveGroup.split(/[;；]/).map((g) => g.trim()).filter(Boolean) : [],
        changeNote: '由 Excel 导入',
      };
      const item = current.find((e) => e.code === row.code);
      if (item && item.department_org_id !== actor.orgId) throw new ConflictError(`编码 ${row.code} 已被其他单位使用，请核对后重新导入`);
      if (!item) {
        await insertPolicy(trx, actor, at, { ...base, code: row.code, effectiveYear: row.fromYear, confidential: false, meansTested: row.meansTested ?? false, emergencyRelief: false });
        outcome.created++;
        continue;
      }
      const versions = await policyVersions(trx, item.id);
      const latest = versions[0]!;
      const latestPublished = versions.find((v) => v.state === 'published');
      const input = { ...base, confidential: latest.confidential, meansTested: row.meansTested ?? latest.meansTested, emergencyRelief: latest.emergencyRelief, effectiveYear: Math.max(thisYear, latestPublished?.effectiveYear ?? row.fromYear) };
      if (sameContent(latest, input)) {
        outcome.unchanged++;
        continue;
      }
      const open = versions.find((v) => v.state !== 'published');
      await saveDraft(trx, actor, versions, { ...input, revision: open?.revision ?? null });
      outcome.changed++;
    }
    const { created, changed, unchanged } = outcome;
    const importId = await insertReturningId(trx, 'policy_import', { ...key, file_name: file.name.slice(0, 200), rows: parsed.rows.length, created, changed, unchanged, imported_by: actor.userId, imported_at: nowIso() });
    await recordAudit(trx, actor, { action: 'policy.import', objectType: 'policy_import', objectId: importId, summary: { file: file.name, sha256: key.file_sha256, rows: parsed.rows.length, created, changed, unchanged } });
    return outcome;
  });
}
