import { recordAudit } from './audit.ts';
import type { Actor } from './auth/roles.ts';
import type { Decision } from './authz.ts';
import { type Conn, type Db, inTransaction, nowIso } from './db.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import type { HeaderGap, TableSpec } from './table-reader.ts';

/**
 * Column mappings (列对应关系): where an uploaded table's header names a column in a way no alias knows (村组名称 for
 * 村（社区）), the refusal page offers a form that maps each missing column to one of the file's unknown headers; the
 * mapping is kept for the region that uploads (a township for its registry and rosters, the county for reference
 * data) and that kind of file, and every later upload of that region and kind applies it before the aliases. A header
 * mapping is generic — it names columns, not rules — so the mechanism is core's; which kinds of file may be mapped,
 * by whom, and where they are uploaded is each module's (AppModule.columnMappings, decided by its `can`).
 */

/** A kind of uploaded file whose columns may be mapped, as a module declares it. */
export interface ColumnMappingKind {
  /** Stored with the mapping: `<module>.<file>`, e.g. beneficiary.registry. */
  kind: string;
  /** What the file is, in Chinese: 受益对象导入. */
  label: string;
  /** The spec's columns a mapping may fill (canonical names): those the file needs. */
  columns: readonly string[];
  /** Where the file is uploaded again once the mapping is saved. */
  uploadHref: string;
  /** Whether the actor may map (and unmap) this kind of file for their region: the module's `can`. */
  may: (actor: Actor) => Decision;
}

/** Canonical column → the header text that names it in this region's files. */
export type ColumnMapping = Readonly<Record<string, string>>;

export interface ColumnMappingRow {
  id: number;
  region_id: number;
  file_kind: string;
  column_name: string;
  header_text: string;
  saved_by: number;
  saved_by_name: string | null;
  saved_at: string;
}

/** How long a header text may be (a header cell longer than this is no header). */
export const MAPPED_HEADER_MAX = 100;

/** The header texts as the reader compares them (table-reader.ts headerText): spaces and asterisks removed. */
export const mappedHeader = (text: string) => text.replace(/[\s*＊]/g, '');

/** The mapping a region keeps for a kind of file (empty when none). */
export async function columnMappingOf(conn: Conn, regionId: number, fileKind: string): Promise<ColumnMapping> {
  const rows: { column_name: string; header_text: string }[] = await conn('core_column_mapping').where({ region_id: regionId, file_kind: fileKind }).select('column_name', 'header_text');
  return Object.fromEntries(rows.map((r) => [r.column_name, r.header_text]));
}

/**
 * The spec with the mapping applied: each mapped header becomes its column's first alias, taken before the known
 * aliases (a header with the column's own name still comes first).
 */
export function applyColumnMapping(spec: TableSpec, mapping: ColumnMapping): TableSpec {
  if (Object.keys(mapping).length === 0) return spec;
  const aliases: Record<string, readonly string[]> = { ...(spec.aliases ?? {}) };
  for (const [column, header] of Object.entries(mapping)) aliases[column] = [header, ...(aliases[column] ?? [])];
  return { ...spec, aliases };
}

/** The mappings a region keeps, of the kinds given, for the page that shows them. */
export async function columnMappingsOf(conn: Conn, regionId: number, fileKinds: string[]): Promise<ColumnMappingRow[]> {
  if (fileKinds.length === 0) return [];
  return conn('core_column_mapping as m')
    .leftJoin('core_user as u', 'u.id', 'm.saved_by')
    .where('m.region_id', regionId)
    .whereIn('m.file_kind', fileKinds)
    .orderBy('m.file_kind')
    .orderBy('m.column_name')
    .orderBy('m.id')
    .select('m.id', 'm.region_id', 'm.file_kind', 'm.column_name', 'm.header_text', 'm.saved_by', 'u.display_name as saved_by_name', 'm.saved_at');
}

/**
 * Keep a mapping for the actor's region: each column to its header (a column mapped before is mapped anew). The
 * caller has checked the kind's `may` and the choices (the columns of the kind, distinct headers). Audited.
 */
export async function saveColumnMapping(db: Db, actor: Actor, kind: ColumnMappingKind, columns: ColumnMapping): Promise<void> {
  await inTransaction(db, async (trx) => {
    const now = nowIso();
    for (const [column, header] of Object.entries(columns)) {
      await trx('core_column_mapping').where({ region_id: actor.regionId, file_kind: kind.kind, column_name: column }).delete();
      await trx('core_column_mapping').insert({ region_id: actor.regionId, file_kind: kind.kind, column_name: column, header_text: header, saved_by: actor.userId, saved_at: now });
    }
    const clash = await trx('core_column_mapping').where({ region_id: actor.regionId, file_kind: kind.kind }).groupBy('header_text').havingRaw('count(*) > 1').select('header_text');
    if (clash.length) throw new ConflictError(`表头「${clash[0].header_text}」已对应到另一列：一个表头只能对应一列，请先删除原有的对应关系`);
    await recordAudit(trx, actor, {
      action: 'column_mapping.save',
      objectType: 'column_mapping',
      summary: { kind: kind.label, region: actor.regionName, columns: Object.entries(columns).map(([column, header]) => `${column}←${header}`) },
    });
  });
}

/** Delete one kept column of a mapping of the actor's region (the kind's `may` checked by the caller). Audited. */
export async function deleteColumnMapping(db: Db, actor: Actor, kind: ColumnMappingKind, id: number): Promise<void> {
  await inTransaction(db, async (trx) => {
    const row: { column_name: string; header_text: string } | undefined = await trx('core_column_mapping').where({ id, region_id: actor.regionId, file_kind: kind.kind }).first('column_name', 'header_text');
    if (!row) throw new NotFoundError('该列对应关系不存在或已删除');
    await trx('core_column_mapping').where({ id }).delete();
    await recordAudit(trx, actor, { action: 'column_mapping.delete', objectType: 'column_mapping', objectId: id, summary: { kind: kind.label, region: actor.regionName, column: row.column_name, header: row.header_text } });
  });
}

/** The form a refusal page offers: each missing column with the file's unknown headers to choose from. */
export interface ColumnMappingOffer {
  kind: string;
  label: string;
  missing: { index: number; column: string }[];
  headers: string[];
  /** The headers as the select's options. */
  options: { value: string; label: string }[];
  /** The page the file was uploaded on, to go back to once the mapping is saved (a local path), or null: the kind's uploadHref. */
  back: string | null;
  /** The hidden fields that carry the choices to a re-rendered form (JSON). */
  missingJson: string;
  headersJson: string;
}

/** The mapping form for a file refused for its header, if its kind may be mapped by the actor and the gap has a choice. */
export function columnMappingOffer(kind: ColumnMappingKind, actor: Actor, gap: HeaderGap | null, back: string | null = null): ColumnMappingOffer | null {
  if (!gap || !kind.may(actor).ok) return null;
  const missing = gap.missing.filter((c) => kind.columns.includes(c));
  const headers = gap.unknown.map(mappedHeader).filter((h) => h !== '' && [...h].length <= MAPPED_HEADER_MAX).slice(0, 200);
  if (missing.length === 0 || headers.length === 0) return null;
  return { kind: kind.kind, label: kind.label, missing: missing.map((column, index) => ({ index, column })), headers, options: headers.map((h) => ({ value: h, label: h })), back, missingJson: JSON.stringify(missing), headersJson: JSON.stringify(headers) };
}
