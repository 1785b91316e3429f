import type { Knex } from 'knex';
import { z } from 'zod';
import { type AuditAction, clauses } from './audit-vocabulary.ts';
import { businessDate, formatDateTime } from './dates.ts';
import { countRows } from './db.ts';
import { ValidationError } from './errors.ts';
import { optional, page } from './fields.ts';
import { validate } from './http/validate.ts';
import { writeListXlsx } from './spreadsheet.ts';

/**
 * The staff lists with filters, sorting and pages (发放批次, 受益对象档案, 发放失败处理, 审计日志) and their Excel
 * export of what the filter selects. A list declares its filters (a zod shape made of the field builders in
 * fields.ts), its sortable columns and its default order (defineList); from that it gets the schema of its query
 * string, the ORDER BY, the page, the whole selection for the export, and the links of its page.
 *
 * Only a declared column reaches ORDER BY: the query string names a key of `sorts`, which the schema checks, and
 * the direction is one of two words. The row id always comes last, so that rows that tie keep one order and the
 * pages neither repeat nor skip a row. Text sorts by the database's collation: code-point order on SQLite, the
 * database's own collation on PostgreSQL, so Chinese names are not in pinyin order and may be in a different
 * order on the two databases; accepted.
 *
 * The links keep each other: a sort header keeps the filters (and starts again at page 1), the pager keeps the
 * filters and the sort, the filter form keeps the sort (hidden fields) and starts again at page 1, and the export
 * link carries the filters and the sort of the page.
 */

export const LIST_PAGE_SIZE = 50;
/** At most this many rows in one export; more is refused with a message to narrow the filter. */
export const EXPORT_ROW_CAP = 100_000;

export type SortDir = 'asc' | 'desc';

/**
 * What a sort key orders by: a column (qualified, or an alias of the list's select) or a column of codes in the
 * order of its vocabulary (states in the order of the workflow, not alphabetically). Columns are NOT NULL: the two
 * databases place NULLs differently.
 */
export type SortTerm = string | { column: string; order: readonly string[] };

export interface SortColumn {
  /** Its name in messages and in the export's title. */
  label: string;
  by: readonly SortTerm[];
  /** The direction of a first click on its header; ascending unless said. */
  first?: SortDir;
}

export interface ListSpec<F extends z.ZodRawShape, S extends string> {
  /** The list's address: the sort links and the pager point at it, the export is `${path}/export.xlsx`. */
  path: string;
  /** The filters of the query string (fields.ts: optional(…), checkbox …): not given is null, undefined or false. */
  filters: F;
  sorts: Record<S, SortColumn>;
  defaultSort: NoInfer<S>;
  defaultDir: SortDir;
  /** The row id column: the last term of every order. */
  id: string;
}

export interface ListQuery<Filters, S extends string> {
  filters: Filters;
  sort: S;
  dir: SortDir;
  page: number;
}

export interface ListLinks<S extends string> {
  /** Per sort key: its header's link, and its aria-sort when the list is sorted by it. */
  sort: Record<S, { href: string; ariaSort: 'ascending' | 'descending' | null }>;
  /** For the pager macro of components/form.njk. */
  pager: { page: number; pages: number; total: number; base: string };
  exportHref: string;
  /** Hidden fields of the filter form that keep the sort. */
  keep: { name: string; value: string }[];
}

type Filters<F extends z.ZodRawShape> = z.output<z.ZodObject<F>>;

export class List<F extends z.ZodRawShape, S extends string> {
  private readonly schema: z.ZodType;

  constructor(readonly spec: ListSpec<F, S>) {
    const keys = Object.keys(spec.sorts) as [S, ...S[]];
    const labels = keys.map((k) => spec.sorts[k].label).join('、');
    this.schema = z.object({
      ...spec.filters,
      sort: optional(z.enum(keys, { error: `排序无效：只能按${labels}排序，请点击表头` })),
      dir: optional(z.enum(['asc', 'desc'], { error: '排序方向无效：只能是升序（asc）或降序（desc），请点击表头' })),
      page,
    });
  }

  /**
   * The query string, validated: a ValidationError (422) names each bad field in Chinese. Without a sort, the
   * default order; a sort without a direction goes the way of a first click on its header.
   */
  parse(input: unknown): ListQuery<Filters<F>, S> {
    const { sort, dir, page: pageNo, ...filters } = validate(this.schema, input) as { sort: S | null; dir: SortDir | null; page: number };
    const key = sort ?? this.spec.defaultSort;
    return { filters: filters as Filters<F>, sort: key, dir: dir ?? (sort ? (this.spec.sorts[key].first ?? 'asc') : this.spec.defaultDir), page: pageNo };
  }

  /** ORDER BY the chosen key in the chosen direction, then the id. */
  order(q: Knex.QueryBuilder, query: Pick<ListQuery<unknown, S>, 'sort' | 'dir'>): Knex.QueryBuilder {
    const dir = query.dir === 'desc' ? 'desc' : 'asc';
    for (const term of this.spec.sorts[query.sort].by) {
      if (typeof term === 'string') q.orderBy(term, dir);
      else q.orderByRaw(`case ?? ${term.order.map((_, i) => `when ? then ${i}`).join(' ')} else ${term.order.length} end ${dir}`, [term.column, ...term.order]);
    }
    return q.orderBy(this.spec.id, dir);
  }

  /** One page of the selection (LIST_PAGE_SIZE rows) and the count of all of it. */
  async page<Row>(q: Knex.QueryBuilder, query: ListQuery<unknown, S>): Promise<{ rows: Row[]; total: number }> {
    const total = await countRows(q);
    const rows = (await this.order(q.clone(), query)
      .limit(LIST_PAGE_SIZE)
      .offset((query.page - 1) * LIST_PAGE_SIZE)) as Row[];
    return { rows, total };
  }

  /** Every row of the selection in the page's order, for the export; more than `cap` rows is refused (422). */
  async all<Row>(q: Knex.QueryBuilder, query: ListQuery<unknown, S>, cap = EXPORT_ROW_CAP): Promise<Row[]> {
    const total = await countRows(q);
    if (total > cap) {
      throw new ValidationError(
        { export: `按当前筛选共有 ${total.toLocaleString('en-US')} 条，超过单次导出的上限 ${cap.toLocaleString('en-US')} 条：请增加筛选条件，分批导出` },
        '导出的记录过多',
      );
    }
    return (await this.order(q.clone(), query).limit(cap)) as Row[];
  }

  /** The links of the page: sort headers, pager, export, and the hidden fields that keep the sort. */
  links(query: ListQuery<Filters<F>, S>, total: number): ListLinks<S> {
    const sort = {} as ListLinks<S>['sort'];
    for (const key of Object.keys(this.spec.sorts) as S[]) {
      const current = key === query.sort;
      const dir = current ? (query.dir === 'asc' ? 'desc' : 'asc') : (this.spec.sorts[key].first ?? 'asc');
      sort[key] = { href: this.address(this.params(query.filters, { sort: key, dir })), ariaSort: current ? (query.dir === 'asc' ? 'ascending' : 'descending') : null };
    }
    const kept = this.params(query.filters, query);
    const keep = [...this.params({}, query)].map(([name, value]) => ({ name, value }));
    return {
      sort,
      pager: { page: query.page, pages: Math.max(1, Math.ceil(total / LIST_PAGE_SIZE)), total, base: kept.toString() },
      exportHref: `${this.spec.path}/export.xlsx${kept.toString() ? `?${kept}` : ''}`,
      keep,
    };
  }

  /** The list with some filters changed (a tab of states), the sort kept, from page 1. */
  filterHref(query: ListQuery<Filters<F>, S>, changes: Partial<Filters<F>>): string {
    return this.address(this.params({ ...query.filters, ...changes }, query));
  }

  /** "按总金额降序", for the export's title and its audit row. */
  describeSort(query: Pick<ListQuery<unknown, S>, 'sort' | 'dir'>): string {
    return `按${this.spec.sorts[query.sort].label}${query.dir === 'asc' ? '升序' : '降序'}`;
  }

  private address(params: URLSearchParams): string {
    return params.toString() ? `${this.spec.path}?${params}` : this.spec.path;
  }

  /** The filters given (not null, not false; true as 1) and the sort unless it is the default. */
  private params(filters: Record<string, unknown>, order: { sort: S; dir: SortDir }): URLSearchParams {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(filters)) {
      if (value === null || value === undefined || value === false || value === '') continue;
      // A filter of several choices is repeated (action=a&action=b), as a multiple select sends it.
      if (Array.isArray(value)) for (const v of value) params.append(name, String(v));
      else params.set(name, value === true ? '1' : String(value));
    }
    if (order.sort !== this.spec.defaultSort || order.dir !== this.spec.defaultDir) {
      params.set('sort', order.sort);
      params.set('dir', order.dir);
    }
    return params;
  }
}

export function defineList<F extends z.ZodRawShape, S extends string>(spec: ListSpec<F, S>): List<F, S> {
  return new List(spec);
}

/** The filters given, in words ("状态：待核实；乡镇：城关镇"), or "全部" — for the export's title and its audit row. */
export function describeFilters(parts: [label: string, value: string | number | null | undefined | false][]): string {
  const given = parts.filter(([, value]) => value !== null && value !== undefined && value !== false && value !== '');
  return given.length ? given.map(([label, value]) => `${label}：${value}`).join('；') : '全部';
}

/** The label of a select filter's choice, for describeFilters (the value itself when the page does not offer it). */
export function chosen(options: readonly { value: string | number; label: string }[], value: string | number | null): string | null {
  return value === null ? null : (options.find((o) => String(o.value) === String(value))?.label ?? String(value));
}

export interface ExportColumn<Row> {
  header: string;
  /** Column width in characters. */
  width: number;
  value: (row: Row) => string | number | null;
}

/**
 * The workbook of an export: its first row says what it holds (the list, the filter, the order, how many rows,
 * who exported it and when), then the header and one row per record, every cell text (spreadsheet.ts,
 * writeListXlsx). Returns the file's name and bytes, and the summary for the export's audit row.
 */
export async function listWorkbook<Row>(
  what: { title: string; filter: string; sort: string; by: string },
  columns: ExportColumn<Row>[],
  rows: readonly Row[],
): Promise<{ fileName: string; body: Buffer; summary: { rows: number; filter: string; sort: string } }> {
  const now = new Date();
  const heading = `${what.title}（筛选：${what.filter}；${what.sort}），共 ${rows.length} 条。${what.by} 导出于 ${formatDateTime(now.toISOString())}`;
  const body = await writeListXlsx(
    what.title,
    heading,
    columns.map((c) => ({ header: c.header, width: c.width })),
    rows.map((row) => columns.map((c) => c.value(row))),
  );
  return { fileName: `${what.title}-${businessDate(now)}.xlsx`, body, summary: { rows: rows.length, filter: what.filter, sort: what.sort } };
}

/** How the audit log reads an export (each module labels its own export code with this). */
export function exportAuditAction(label: string): AuditAction {
  return { label, sentence: (s) => clauses(`${s.count('rows')} 条`, s.has('filter') && `筛选：${s.text('filter')}`, s.has('sort') && s.text('sort')) };
}
