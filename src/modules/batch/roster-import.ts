import { createHash } from 'node:crypto';
import { blindIndexesOf } from '../../core/crypto.ts';
import { recordAudit } from '../../core/audit.ts';
import type { Actor } from '../../core/auth/roles.ts';
import type { Core } from '../../core/context.ts';
import { businessDate } from '../../core/dates.ts';
import { bulkInsert, inTransaction, insertReturningId, nowIso } from '../../core/db.ts';
import { ValidationError } from '../../core/errors.ts';
import { claimFileDigest } from '../../core/imports.ts';
import { multiplyFen } from '../../core/money.ts';
import { type HeaderGap, type ImportError, type TableSpec, readTable, sortErrors, writeErrorReport } from '../../core/spreadsheet.ts';
import { type ColumnMappingKind, applyColumnMapping, columnMappingOf } from '../../core/column-mapping.ts';
import { can } from './policy.ts';
import { parseIdNumber, registryFactsById, registryFactsByIdNumberIndex } from '../beneficiary/index.ts';
import { checkLineInput, editableRoster, lineRow, recordHistory, touchRoster } from './commands.ts';
import type { LineRow } from './repo.ts';

/**
 * A roster compiled from a file (清册, docs/roster-import-format.md) or from the previous period's paid roster.
 * The file is checked whole and applied in one transaction or refused with a report; the same file twice
 * changes nothing. A person already on the roster gets their tier and quantity from the file.
 */
const SPEC: TableSpec = {
  headerHas: ['姓名', '身份证号码', '数量'],
  required: ['姓名', '身份证号码', '数量'],
  // The names counties' own sheets give the columns (docs/roster-import-format.md), the likelier first. A household
  // subsidy's sheet names the head: 户主姓名, 户主身份证号码. Not 面积 or 亩数 for 数量: a sheet may carry both the
  // contracted and the subsidised area.
  aliases: {
    '村（社区）': ['村', '行政村', '村(居)', '村居', '村名', '所在村', '社区'],
    姓名: ['户主姓名', '人员姓名'],
    身份证号码: ['身份证号', '公民身份号码', '公民身份证号码', '身份证件号码', '身份证', '户主身份证号码', '户主身份证号'],
    档次: ['补贴档次', '档次名称'],
    数量: ['补贴数量', '计补数量'],
  },
  rowNoun: '发放对象',
  formatHint: '各列依次为：村（社区）、姓名、身份证号码、档次、数量',
};

/** The kind of file under which a township keeps its roster column mapping (core/column-mapping.ts), and the columns it may map. */
export const ROSTER_FILE_KIND = 'batch.roster';
export const ROSTER_MAPPING: ColumnMappingKind = {
  kind: ROSTER_FILE_KIND,
  label: '清册导入',
  columns: SPEC.required,
  uploadHref: '/rounds',
  may: (actor) => can(actor, 'map_roster_columns', null),
};

/** A refusal for the file's header carries what a column mapping could fill (gap: the mapping form of the roster page). */
export type RosterImportOutcome =
  | { ok: true; repeated: boolean; rows: number; added: number; updated: number; unchanged: number }
  | { ok: false; errors: ImportError[]; report: Buffer; gap?: HeaderGap | null };

const FIELD = { idNumber: '身份证号码', tierName: '档次', quantity: '数量' } as const;

export async function importRosterFile(core: Core, actor: Actor, rosterId: number, file: { name: string; buffer: Buffer } | null): Promise<RosterImportOutcome> {
  const { roster, round, version } = await editableRoster(core, actor, rosterId);
  if (!file) throw new ValidationError({ file: '请选择要导入的 Excel（.xlsx）或 CSV 文件' });
  const sha256 = createHash('sha256').update(file.buffer).digest('hex');
  const previous = (await core.db('batch_import').where({ roster_id: roster.id, file_sha256: sha256 }).first('rows')) as { rows: number } | undefined;
  if (previous) return { ok: true, repeated: true, rows: previous.rows, added: 0, updated: 0, unchanged: previous.rows };
  const report = (errors: ImportError[], table: Parameters<typeof writeErrorReport>[2]) => writeErrorReport('清册导入', errors, table);
  // The township's column mapping, if it saved one, names the columns before the aliases do.
  const mapping = await columnMappingOf(core.db, roster.township_id, ROSTER_FILE_KIND);
  let gap: HeaderGap | null = null;
  const table = await readTable(file.buffer, applyColumnMapping(SPEC, mapping), undefined, (g) => (gap = g));
  if (typeof table === 'string') {
    const errors = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors, report: await report(errors, null), gap };
  }
  const get = (cells: string[], column: string) => {
    const i = table.columns.get(column);
    return i === undefined ? '' : cells[i]!;
  };
  const today = businessDate();
  const parsed = table.rows.map(({ rowNumber, cells }) => ({ rowNumber, cells, id: parseIdNumber(get(cells, '身份证号码'), today) }));
  const indexOf = blindIndexesOf(core.crypto, 'id', parsed.flatMap((p) => (p.id.ok ? [p.id.value.idNumber] : [])));
  const people = new Map((await registryFactsByIdNumberIndex(core.db, [...indexOf.values()])).map((f) => [f.idIndex, f]));
  const villages = new Map(((await core.db('core_region').where({ parent_id: roster.township_id }).select('id', 'name')) as { id: number; name: string }[]).map((v) => [v.id, v.name]));

  const errors: ImportError[] = [];
  const accepted: { rowNumber: number; person: NonNullable<ReturnType<typeof people.get>>; tierName: string; quantityMilli: number }[] = [];
  const seen = new Map<number, number>();
  for (const { rowNumber, cells, id } of parsed) {
    const fail = (field: string, message: string) => errors.push({ rowNumber, field, message });
    if (!id.ok) {
      fail('身份证号码', get(cells, '身份证号码') === '' ? '不能为空' : id.error);
      continue;
    }
    const person = people.get(indexOf.get(id.value.idNumber)!);
    const checked = checkLineInput(round, roster, version, person, get(cells, '档次'), get(cells, '数量'));
    for (const [field, message] of Object.entries(checked.errors)) fail(FIELD[field as keyof typeof FIELD], message);
    if (!person || Object.keys(checked.errors).length) continue;
    const name = get(cells, '姓名');
    if (name !== person.name) fail('姓名', `与档案中的姓名“${person.name}”不一致`);
    const village = get(cells, '村（社区）');
    if (village !== '' && village !== villages.get(person.villageId)) fail('村（社区）', `此人登记在“${villages.get(person.villageId) ?? '其他村'}”`);
    const first = seen.get(person.personId);
    if (first !== undefined) fail('身份证号码', `与第 ${first} 行是同一人`);
    else seen.set(person.personId, rowNumber);
    accepted.push({ rowNumber, person, tierName: checked.tierName, quantityMilli: checked.quantityMilli });
  }
  if (errors.length) return { ok: false, errors: sortErrors(errors, table.columns), report: await report(errors, table) };

  return inTransaction(core.db, async (trx) => {
    // The same file sent twice at once (a double click, a second tab) is imported once: the other waits here.
    if (!(await claimFileDigest(trx, 'batch_import', { roster_id: roster.id, file_sha256: sha256 }))) return { ok: true as const, repeated: true, rows: accepted.length, added: 0, updated: 0, unchanged: accepted.length };
    const current = new Map(((await trx('batch_line').where({ roster_id: roster.id, state: 'active' })) as LineRow[]).map((l) => [l.person_id, l]));
    const outcome = { ok: true as const, repeated: false, rows: accepted.length, added: 0, updated: 0, unchanged: 0 };
    const fresh = accepted.filter((a) => !current.has(a.person.personId));
    await bulkInsert(trx, 'batch_line', fresh, (a) => lineRow(round, roster, version, a.person, a.tierName, a.quantityMilli, actor, 'import'));
    outcome.added = fresh.length;
    for (const a of accepted) {
      const line = current.get(a.person.personId);
      if (!line) continue;
      if (line.tier_name === a.tierName && line.quantity_milli === a.quantityMilli) {
        outcome.unchanged++;
        continue;
      }
      const standardFen = version.tiers.find((t) => t.name === a.tierName)!.standardFen;
      await trx('batch_line')
        .where({ id: line.id })
        .update({
          tier_name: a.tierName,
          standard_fen: standardFen,
          quantity_milli: a.quantityMilli,
          amount_fen: multiplyFen(standardFen, a.quantityMilli),
          changed_after_publicity: roster.publicity_start !== null,
          updated_by: actor.userId,
          updated_at: nowIso(),
          version: trx.raw('version + 1'),
        });
      outcome.updated++;
    }
    const importId = await insertReturningId(trx, 'batch_import', { roster_id: roster.id, file_sha256: sha256, file_name: file.name.slice(0, 200), rows: accepted.length, imported_by: actor.userId, imported_at: nowIso() });
    if (outcome.added || outcome.updated) await touchRoster(trx, actor, roster);
    await recordHistory(trx, actor, { roundId: round.id, rosterId: roster.id, action: 'roster.import', reason: `${file.name}：新增 ${outcome.added}，修改 ${outcome.updated}，未变化 ${outcome.unchanged}` });
    await recordAudit(trx, actor, { action: 'batch.roster.import', objectType: 'roster', objectId: roster.id, summary: { import: importId, file: file.name, sha256, ...outcome } });
    return outcome;
  });
}

/**
 * Pre-fill a roster from the previous period's paid round of the same policy (recurring subsidies): the same
 * people, tiers and quantities, with today's registry (account) and the current standard. People no longer
 * registered in the township are left out and counted.
 */
export async function prefillRoster(core: Core, actor: Actor, rosterId: number): Promise<{ added: number; skipped: number; from: string }> {
  const { roster, round, version } = await editableRoster(core, actor, rosterId);
  const previous = await core.db('batch_round')
    .where({ county_id: round.county_id, policy_item_id: round.policy_item_id, kind: 'regular', state: 'transferred' })
    .where('period', '<', round.period)
    .orderBy('period', 'desc')
    .first('id', 'title');
  if (!previous) throw new ValidationError({ prefill: '没有该补贴以前期间已拨付的批次可以参照' });
  const source = ((await core.db('batch_line as l').join('batch_roster as s', 's.id', 'l.roster_id').where({ 'l.round_id': previous.id, 's.township_id': roster.township_id, 'l.state': 'active' }).select('l.*')) as LineRow[]);
  const facts = new Map((await registryFactsById(core.db, source.map((l) => l.person_id))).map((f) => [f.personId, f]));
  return inTransaction(core.db, async (trx) => {
    const present = new Set(((await trx('batch_line').where({ roster_id: roster.id, state: 'active' }).select('person_id')) as { person_id: number }[]).map((r) => r.person_id));
    const usable = source.filter((l) => {
      const f = facts.get(l.person_id);
      return f && f.townshipId === roster.township_id && f.status === 'active' && !present.has(f.personId) && version.tiers.some((t) => t.name === l.tier_name);
    });
    await bulkInsert(trx, 'batch_line', usable, (l) => lineRow(round, roster, version, facts.get(l.person_id)!, l.tier_name, l.quantity_milli, actor, 'prefill'));
    if (usable.length) await touchRoster(trx, actor, roster);
    const outcome = { added: usable.length, skipped: source.length - usable.length, from: previous.title as string };
    await recordHistory(trx, actor, { roundId: round.id, rosterId: roster.id, action: 'roster.prefill', reason: `参照“${outcome.from}”：新增 ${outcome.added}，未纳入 ${outcome.skipped}` });
    await recordAudit(trx, actor, { action: 'batch.roster.prefill', objectType: 'roster', objectId: roster.id, summary: outcome });
    return outcome;
  });
}
