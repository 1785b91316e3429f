import type { Knex } from 'knex';
import { deploymentAuditor, recordAudit } from './audit.ts';
import type { Core } from './context.ts';
import type { FieldCrypto } from './crypto.ts';
import { type Tx, inTransaction, updateByIds } from './db.ts';
import { purposeKey } from './wrapped-keys.ts';

/**
 * A change of the field key (`ykt rotate-key`, docs/operations.md section 3): every field encrypted under the old
 * key is encrypted again under the new one, every blind index computed again, in one transaction, so that the
 * database is wholly under one key or the other. Each module rewrites its own tables (AppModule.rekey), bottom layer
 * first: the registry, which holds the ID and account numbers, records each old blind index's new value in a map kept
 * for the transaction (core_rekey_map, a temporary table); the modules that keep an index without its number (a
 * roster line, a screening finding's subject) look theirs up there. Core's own fields come last, the key check among
 * them, so that an instance started afterwards with the old key refuses to run (core/key-check.ts).
 */
export class KeyRotationError extends Error {}

export interface RekeyedColumn {
  table: string;
  column: string;
  rows: number;
}

/** What a module's rekeyer is given: the transaction, both keys, and the ways to rewrite what it owns. */
export interface Rekeying {
  trx: Tx;
  from: FieldCrypto;
  to: FieldCrypto;
  /**
   * Whether nothing else uses the database meanwhile (`ykt rotate-key`, every instance stopped): a rekeyer may then
   * drop and rebuild an index, which locks its table. A county's move (core/county-move.ts) shares the database with
   * the other counties' instances: false.
   */
  exclusive: boolean;
  /**
   * Decrypt the table's encrypted columns with the old key and encrypt them with the new; compute the blind indexes
   * named in `indexes` again from the plaintext of the column given as `of`, and record old → new for remap().
   */
  rewrite(table: string, spec: { encrypted: readonly string[]; indexes?: Record<string, { kind: string; of: string }> }): Promise<void>;
  /** Replace a blind index kept without its number by that index's new value, as rewrite() recorded it. */
  remap(table: string, column: string, kind: string): Promise<void>;
  /**
   * Replace the shortened blind index (its first `length` hex digits) a text column ends with, in the rows the LIKE
   * pattern selects: a screening finding's subject names an account that way.
   */
  remapTail(table: string, column: string, kind: string, like: string, length: number): Promise<void>;
  /** Make sure a purpose's wrapped key exists (written under the old key) before core re-encrypts the wrapped keys. */
  keepPurposeKey(purpose: string): Promise<void>;
}

export type Rekeyer = (r: Rekeying) => Promise<void>;

const MAP = 'core_rekey_map';
const PAGE = 1_000;

/** The ids a rekeying may touch in a table (a moved county's rows, core/county-move.ts); every row when absent. */
export type IdRange = (table: string) => { above: number; upTo: number };

function rekeying(trx: Tx, from: FieldCrypto, to: FieldCrypto, count: (table: string, column: string, rows: number) => void, range?: IdRange): Rekeying {
  const within = (table: string) => (q: Knex.QueryBuilder) => {
    if (!range) return;
    const { above, upTo } = range(table);
    q.where(`${table}.id`, '>', above).where(`${table}.id`, '<=', upTo);
  };
  /** A blind index's new value, as rewrite() recorded it, for the table's column of the row being updated. */
  const newValueOf = (table: string, column: string, kind: string) => trx(MAP).where('kind', kind).whereRaw('?? = ??', [`${MAP}.old_value`, `${table}.${column}`]);

  /** Decrypt one column of a page, naming the first row the old key cannot read. */
  function decrypt(table: string, column: string, rows: { id: number; value: string }[]): string[] {
    try {
      return from.decryptMany(rows.map((r) => r.value));
    } catch {
      const bad = rows.find((r) => {
        try {
          from.decrypt(r.value);
          return false;
        } catch {
          return true;
        }
      });
      throw new KeyRotationError(`${table}.${column} 第 ${bad?.id} 行无法用当前密钥解密：数据库中有用其他密钥写入的字段，未做任何更改`);
    }
  }

  return {
    trx,
    from,
    to,
    exclusive: range === undefined,
    async rewrite(table, spec) {
      const indexes = Object.entries(spec.indexes ?? {});
      const columns = [...spec.encrypted, ...indexes.map(([column]) => column)];
      let last = range?.(table).above ?? 0;
      let total = 0;
      for (;;) {
        const page = (await trx(table).modify(within(table)).where('id', '>', last).orderBy('id').limit(PAGE).select('id', ...columns)) as ({ id: number } & Record<string, string | null>)[];
        if (page.length === 0) break;
        last = page.at(-1)!.id;
        total += page.length;
        const plain = new Map<string, (string | null)[]>();
        const cipher = new Map<string, (string | null)[]>();
        for (const column of spec.encrypted) {
          const present = page.flatMap((r) => (r[column] == null ? [] : [{ id: r.id, value: r[column]! }]));
          const opened = decrypt(table, column, present);
          const sealed = to.encryptMany(opened);
          const values: (string | null)[] = [];
          const fresh: (string | null)[] = [];
          let i = 0;
          for (const r of page) {
            if (r[column] == null) {
              values.push(null);
              fresh.push(null);
            } else {
              values.push(opened[i]!);
              fresh.push(sealed[i++]!);
            }
          }
          plain.set(column, values);
          cipher.set(column, fresh);
        }
        const pairs: { kind: string; old_value: string; new_value: string }[] = [];
        const newIndexes = new Map<string, (string | null)[]>();
        for (const [column, { kind, of }] of indexes) {
          const values = plain.get(of)!;
          const fresh = page.map((r, i) => {
            const value = values[i];
            if (value == null) return null;
            if (r[column] !== from.blindIndex(kind, value)) throw new KeyRotationError(`${table}.${column} 第 ${r.id} 行的索引与其号码不符，未做任何更改`);
            const next = to.blindIndex(kind, value);
            pairs.push({ kind, old_value: r[column]!, new_value: next });
            return next;
          });
          newIndexes.set(column, fresh);
        }
        await updateByIds(
          trx,
          table,
          columns,
          page.map((r, i) => [r.id, ...spec.encrypted.map((c) => cipher.get(c)![i]!), ...indexes.map(([c]) => newIndexes.get(c)![i]!)] as const),
        );
        for (let at = 0; at < pairs.length; at += 300) await trx(MAP).insert(pairs.slice(at, at + 300)).onConflict(['kind', 'old_value']).ignore();
      }
      for (const column of columns) count(table, column, total);
    },
    async remap(table, column, kind) {
      const missing = (await trx(table)
        .modify(within(table))
        .whereNotNull(column)
        .whereNotExists(newValueOf(table, column, kind).select(trx.raw('1')))
        .count({ n: '*' })
        .first()) as { n: number | string };
      if (Number(missing.n) > 0) throw new KeyRotationError(`${table}.${column} 有 ${missing.n} 行的索引在登记库中找不到对应的号码，无法换算，未做任何更改`);
      const rows = await trx(table)
        .modify(within(table))
        .whereNotNull(column)
        .update({ [column]: newValueOf(table, column, kind).select('new_value') });
      count(table, column, rows);
    },
    async remapTail(table, column, kind, like, length) {
      const rows = (await trx(table).modify(within(table)).where(column, 'like', like).select('id', column)) as ({ id: number } & Record<string, string>)[];
      const updates: [number, string][] = [];
      for (const r of rows) {
        const value = r[column]!;
        const tail = value.slice(-length);
        // The map's old values that start with the tail: a range of the (kind, old_value) key, on both databases.
        const found = (await trx(MAP).where('kind', kind).where('old_value', '>=', tail).where('old_value', '<', `${tail}g`).limit(2).pluck('new_value')) as string[];
        if (found.length !== 1) throw new KeyRotationError(`${table}.${column} 第 ${r.id} 行所指的账户在登记库中找不到，无法换算，未做任何更改`);
        updates.push([r.id, value.slice(0, -length) + found[0]!.slice(0, length)]);
      }
      await updateByIds(trx, table, [column], updates);
      count(table, column, rows.length);
    },
    async keepPurposeKey(purpose) {
      if (range === undefined) await purposeKey({ crypto: from, db: trx }, purpose);
    },
  };
}

/**
 * Rotate the field key: the modules' rekeyers (bottom layer first), then core's fields, then the audit row, in one
 * transaction. Returns what was rewritten, per table and column; onColumn hears of each as it is done (a county of a
 * million people takes minutes).
 */
export async function rotateFieldKey(core: Core, to: FieldCrypto, rekeyers: readonly Rekeyer[], onColumn: (column: RekeyedColumn) => void = () => undefined): Promise<RekeyedColumn[]> {
  return inTransaction(core.db, async (trx) => {
    const done: RekeyedColumn[] = [];
    const count = (table: string, column: string, rows: number) => {
      done.push({ table, column, rows });
      onColumn({ table, column, rows });
    };
    const r = await withMap(trx, () => rekeying(trx, core.crypto, to, count), async (r) => {
      for (const rekey of rekeyers) await rekey(r);
      await r.rewrite('core_user', { encrypted: ['totp_secret_enc'] });
      await r.rewrite('core_download', { encrypted: ['body_enc'] });
    });
    const wrapped = (await trx('core_wrapped_key').select('purpose', 'key_enc')) as { purpose: string; key_enc: string }[];
    for (const w of wrapped) await trx('core_wrapped_key').where({ purpose: w.purpose }).update({ key_enc: to.encrypt(core.crypto.decrypt(w.key_enc)) });
    count('core_wrapped_key', 'key_enc', wrapped.length);
    await r.rewrite('core_key_check', { encrypted: ['check_enc'] });
    await recordAudit(
      trx,
      await deploymentAuditor(trx),
      { action: 'key.rotate', objectType: 'deployment', summary: { columns: done.filter((d) => d.rows > 0).length, rows: done.reduce((sum, d) => sum + d.rows, 0) } },
    );
    return done;
  });
}

/** Run fn with the map of old → new blind indexes (a temporary table, dropped after). */
async function withMap(trx: Tx, make: () => Rekeying, fn: (r: Rekeying) => Promise<void>): Promise<Rekeying> {
  await trx.schema.dropTableIfExists(MAP);
  await trx.raw(`CREATE TEMPORARY TABLE ${MAP} (kind varchar(16) NOT NULL, old_value varchar(64) NOT NULL, new_value varchar(64) NOT NULL, PRIMARY KEY (kind, old_value))`);
  const r = make();
  await fn(r);
  await trx.schema.dropTable(MAP);
  return r;
}

/**
 * Re-encrypt the rows a county brought from its own database (core/county-move.ts) from its key to this deployment's:
 * the modules' rekeyers and the users' second factors, limited to the moved ids. The county's purpose keys travel
 * apart (the move writes them under this deployment's key), so none is written here.
 */
export async function rekeyMovedRows(trx: Tx, from: FieldCrypto, to: FieldCrypto, rekeyers: readonly Rekeyer[], range: IdRange): Promise<RekeyedColumn[]> {
  const done: RekeyedColumn[] = [];
  await withMap(
    trx,
    () => rekeying(trx, from, to, (table, column, rows) => done.push({ table, column, rows }), range),
    async (r) => {
      for (const rekey of rekeyers) await rekey(r);
      await r.rewrite('core_user', { encrypted: ['totp_secret_enc'] });
    },
  );
  return done;
}
