import type { Conn, PiecesIndex } from '../../core/db.ts';

/** Person and account rows as the module reads them (no decrypted values here). */
export interface PersonRow {
  id: number;
  name: string;
  id_masked: string;
  birth_date: string;
  sex: 'male' | 'female';
  village_id: number;
  village_name: string;
  household_id: number | null;
  relation: string;
  phone_masked: string | null;
  status: 'active' | 'deceased' | 'moved' | 'cancelled';
  status_date: string | null;
  status_source: string | null;
  version: number;
}

export interface AccountRow {
  id: number;
  person_id: number;
  kind: 'sscard' | 'bankcard' | 'passbook';
  bank_name: string;
  account_last4: string;
  holder_name: string;
  luhn_warning: boolean;
  /** pending: a newly registered person's first account, until the township finance office confirms (active) or refuses it. */
  status: 'pending' | 'active' | 'closed' | 'refused';
  opened_at: string;
  closed_at: string | null;
  change_reason: string | null;
  /** The registry import the account came with (its new accounts are confirmed together). */
  import_id: number | null;
  decided_at: string | null;
  decision_note: string | null;
  /** Why it is not a 社保卡 (card-first.ts); null for a 社保卡 and for accounts registered before the rule. */
  non_card_reason?: string | null;
  non_card_note?: string | null;
}

export function personQuery(db: Conn) {
  return db('beneficiary_person as p')
    .join('core_region as v', 'v.id', 'p.village_id')
    .select('p.id', 'p.name', 'p.id_masked', 'p.birth_date', 'p.sex', 'p.village_id', 'v.name as village_name', 'p.household_id', 'p.relation', 'p.phone_masked', 'p.status', 'p.status_date', 'p.status_source', 'p.version');
}

/** The registry's index of the names' pieces (migration 20261210000100), read by core/db whereTextHolds. */
export const NAME_PIECES: PiecesIndex = { table: 'beneficiary_person', column: 'name', pgFunction: 'beneficiary_name_pieces', sqliteTable: 'beneficiary_name_gram' };
