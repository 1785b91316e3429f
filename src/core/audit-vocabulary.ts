import type { Conn } from './db.ts';
import { scrubPersonalData } from './mask.ts';
import { formatYuan } from './money.ts';

/**
 * How the audit log reads: each module (and core, for its own actions) declares the action codes it writes with
 * their Chinese labels and a sentence for their summaries, and the kinds of object its rows name. The composition
 * root collects them into one AuditLexicon (app.ts), so core shows module actions without importing a module.
 */
export interface AuditAction {
  label: string;
  /** The summary as a Chinese sentence; never an ID or account number. Omitted when the summary says nothing more. */
  sentence?: (summary: AuditSummary) => string;
}

/**
 * A kind of object that audit rows name (`objectType`). The log links each object to its own history in the log:
 * the auditor, who alone reads the log, opens no business page (三权分立).
 */
export interface AuditObjectKind {
  label: string;
  /** The names of the objects on one page of the log, in one query: id → name. */
  names?: (db: Conn, ids: string[]) => Promise<Map<string, string>>;
}

export interface AuditVocabulary {
  /** The module's name (`core` for the platform's own actions): the filter's choice of all its actions. */
  name: string;
  /** The heading of its actions in the filter. */
  title: string;
  actions: Record<string, AuditAction>;
  objects?: Record<string, AuditObjectKind>;
}

/** A masked ID, account or phone number (digits with asterisks): left out of sentences. A masked name has no digit. */
const MASKED_NUMBER = /[0-9Xx]*\*[0-9Xx*]*/g;

/**
 * An audit row's stored summary, read safely for a sentence: a missing or odd value gives an empty text or zero,
 * never an exception, so that a row written in an older shape still reads.
 */
export class AuditSummary {
  constructor(
    private readonly values: Record<string, unknown>,
    private readonly lexicon: AuditLexicon,
  ) {}

  has(key: string): boolean {
    const v = this.values[key];
    return v !== undefined && v !== null && v !== '' && v !== false;
  }

  /** A value as text, with ID, account and phone numbers left out (even masked). */
  text(key: string): string {
    const v = this.values[key];
    if (typeof v !== 'string' && typeof v !== 'number') return '';
    return scrubPersonalData(String(v)).replace(MASKED_NUMBER, (m) => (/\d/.test(m) ? '' : m)).replace(/\s{2,}/g, ' ').trim();
  }

  count(key: string): number {
    const n = Number(this.values[key]);
    return Number.isFinite(n) ? n : 0;
  }

  /**
   * A 统计用区划代码 (6, 9 or 12 digits), which text() would take for an account number and leave out; the empty text
   * for anything else.
   */
  regionCode(key: string): string {
    const v = this.values[key];
    return typeof v === 'string' && /^\d{6}(\d{3}){0,2}$/.test(v) ? v : '';
  }

  /** An amount in fen as "1,234.50 元". */
  yuan(key: string): string {
    const n = this.count(key);
    return `${Number.isSafeInteger(n) ? formatYuan(n) : '0.00'} 元`;
  }

  /** A value from a fixed list of codes, by its Chinese label; the empty text for an unknown code. */
  choice(key: string, labels: Readonly<Record<string, string>>): string {
    const v = this.values[key];
    return typeof v === 'string' && Object.hasOwn(labels, v) ? labels[v]! : '';
  }

  list(key: string): unknown[] {
    const v = this.values[key];
    return Array.isArray(v) ? v : [];
  }

  /** A nested summary (`before`, `after`). */
  part(key: string): AuditSummary {
    const v = this.values[key];
    return new AuditSummary(v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}, this.lexicon);
  }

  /** The same summary with some values replaced (codes turned into labels before a comparison). */
  with(values: Record<string, unknown>): AuditSummary {
    return new AuditSummary({ ...this.values, ...values }, this.lexicon);
  }

  keys(): string[] {
    return Object.keys(this.values);
  }

  /** A reference written as "type:id" (a deadline's object), as "清册 #12". */
  reference(typeAndId: string): string {
    const object = splitObjectRef(typeAndId);
    return object ? this.lexicon.objectRef(object.type, object.id) : '';
  }

  /** A reference to an object of a known kind by its id, as "清册 #12". */
  ref(type: string, key: string): string {
    return this.has(key) ? this.lexicon.objectRef(type, this.text(key)) : '';
  }
}

/** "roster:12" → { type: 'roster', id: '12' } (an id may itself hold colons); null without a type and an id. */
export function splitObjectRef(typeAndId: string): { type: string; id: string } | null {
  const colon = typeAndId.indexOf(':');
  return colon > 0 && colon < typeAndId.length - 1 ? { type: typeAndId.slice(0, colon), id: typeAndId.slice(colon + 1) } : null;
}

/** Sentence pieces joined by "，", the empty ones left out. */
export function clauses(...parts: (string | false | null | undefined)[]): string {
  return parts.filter(Boolean).join('，');
}

/** "X 改为 Y" for each field that changed between two parts of a summary, joined by "；". */
export function changes(before: AuditSummary, after: AuditSummary, fields: Record<string, string>): string {
  const shown = (s: AuditSummary, key: string) => (s.list(key).length ? s.list(key).map(String).join('、') : s.text(key)) || '（空）';
  return Object.entries(fields)
    .filter(([key]) => shown(before, key) !== shown(after, key))
    .map(([key, label]) => `${label}由“${shown(before, key)}”改为“${shown(after, key)}”`)
    .join('；');
}

export interface AuditChoiceGroup {
  title: string;
  /** Choosing the group: every action of it. */
  all: { value: string; label: string };
  options: { value: string; label: string }[];
}

/** The audit vocabularies of core and every module, merged: what the audit log page reads rows with. */
export class AuditLexicon {
  private readonly actions = new Map<string, AuditAction>();
  private readonly kinds = new Map<string, AuditObjectKind>();
  private readonly groupCodes = new Map<string, string[]>();
  readonly groups: AuditChoiceGroup[];

  constructor(vocabularies: AuditVocabulary[]) {
    for (const v of vocabularies) {
      for (const [code, action] of Object.entries(v.actions)) {
        if (this.actions.has(code)) throw new Error(`audit action ${code} is declared twice`);
        this.actions.set(code, action);
      }
      for (const [type, kind] of Object.entries(v.objects ?? {})) {
        if (this.kinds.has(type)) throw new Error(`audit object kind ${type} is declared twice`);
        this.kinds.set(type, kind);
      }
      this.groupCodes.set(`${v.name}.*`, Object.keys(v.actions));
    }
    this.groups = vocabularies.map((v) => ({
      title: v.title,
      all: { value: `${v.name}.*`, label: `${v.title}：全部操作` },
      options: Object.entries(v.actions).map(([value, a]) => ({ value, label: a.label })),
    }));
  }

  has(code: string): boolean {
    return this.actions.has(code);
  }

  hasKind(type: string): boolean {
    return this.kinds.has(type);
  }

  codes(): string[] {
    return [...this.actions.keys()];
  }

  kindTypes(): string[] {
    return [...this.kinds.keys()];
  }

  label(code: string): string {
    return this.actions.get(code)?.label ?? `未登记的操作（${code}）`;
  }

  /** The action codes a filter choice stands for (one action, or a group's `name.*`); null for an unknown choice. */
  codesFor(choice: string): string[] | null {
    if (this.actions.has(choice)) return [choice];
    return this.groupCodes.get(choice) ?? null;
  }

  /** The summary stored as JSON, as a sentence; empty when the action declares none. Never the raw JSON. */
  sentence(code: string, summaryJson: string): string {
    const describe = this.actions.get(code)?.sentence;
    if (!describe) return '';
    let values: unknown;
    try {
      values = JSON.parse(summaryJson);
    } catch {
      return '';
    }
    if (values === null || typeof values !== 'object' || Array.isArray(values)) return '';
    return describe(new AuditSummary(values as Record<string, unknown>, this));
  }

  kindLabel(type: string): string {
    return this.kinds.get(type)?.label ?? '对象';
  }

  /** "清册 #12", or the name found for it. */
  objectRef(type: string, id: string, names?: Map<string, string>): string {
    return names?.get(`${type}:${id}`) ?? `${this.kindLabel(type)} #${id}`;
  }

  /** The names of the objects the rows name, one query per kind: "type:id" → "清册 城关镇…". */
  async names(db: Conn, rows: { object_type: string | null; object_id: string | null }[]): Promise<Map<string, string>> {
    const idsByType = new Map<string, Set<string>>();
    for (const r of rows) {
      if (!r.object_type || !r.object_id) continue;
      const ids = idsByType.get(r.object_type) ?? new Set<string>();
      idsByType.set(r.object_type, ids.add(r.object_id));
    }
    const names = new Map<string, string>();
    for (const [type, ids] of idsByType) {
      const lookup = this.kinds.get(type)?.names;
      if (!lookup) continue;
      for (const [id, name] of await lookup(db, [...ids])) names.set(`${type}:${id}`, `${this.kindLabel(type)} ${name}`);
    }
    return names;
  }
}
