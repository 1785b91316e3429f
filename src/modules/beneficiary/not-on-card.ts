import { z } from 'zod';
import type { Actor } from '../../core/auth/roles.ts';
import { type Conn, whereTextHolds } from '../../core/db.ts';
import { id, optional } from '../../core/fields.ts';
import { defineList } from '../../core/lists.ts';
import { ACCOUNT_KIND_LABELS, type AccountKind } from './account-number.ts';
import { NON_CARD_REASONS, type NonCardReason, nonCardReasonText } from './card-first.ts';
import { whereRegionInScope } from '../../core/regions.ts';
import { NAME_PIECES } from './repo.ts';

/**
 * 社保卡优先 (qinghai 二(一)1–2): the people 在册 whose active payout account is not a social security card, with why
 * (card-first.ts), for the township to get them a card. The page and its button (asking the agent bank to open
 * cards) are the bank module's card routes, which read this through index.ts.
 */
export const notOnCardFilters = {
  name: optional(z.string().trim().max(40, { error: '姓名过长' })),
  villageId: optional(id('村（社区）')),
  reason: optional(z.enum(['none', ...Object.keys(NON_CARD_REASONS)] as [string, ...string[]], { error: '请从列表中选择原因' })),
  kind: optional(z.enum(['bankcard', 'passbook'], { error: '请从列表中选择账户类型' })),
};

/** The choices of the reason filter: each reason, and 未填写 for accounts registered before the rule. */
export const NOT_ON_CARD_REASON_CHOICES = [...Object.entries(NON_CARD_REASONS).map(([value, label]) => ({ value, label })), { value: 'none', label: '未填写原因' }];
/** The account kinds that are not the social security card. */
const NOT_ON_CARD_KINDS = (Object.keys(ACCOUNT_KIND_LABELS) as AccountKind[]).filter((k) => k !== 'sscard');
export const NOT_ON_CARD_KIND_CHOICES = NOT_ON_CARD_KINDS.map((value) => ({ value, label: ACCOUNT_KIND_LABELS[value] }));

/** The list (core/lists.ts) at the page's address: by village, then name. */
export function defineNotOnCardList(path: string) {
  return defineList({
    path,
    filters: notOnCardFilters,
    sorts: {
      village: { label: '村（社区）', by: ['v.name', 'p.village_id'] },
      name: { label: '姓名', by: ['p.name'] },
      kind: { label: '账户类型', by: ['a.kind'] },
    },
    defaultSort: 'village',
    defaultDir: 'asc',
    id: 'p.id',
  });
}

export interface NotOnCardFilter {
  name: string | null;
  villageId: number | null;
  reason: string | null;
  kind: string | null;
}

export interface NotOnCardRow {
  id: number;
  name: string;
  id_masked: string;
  village_id: number;
  village_name: string;
  kind: AccountKind;
  bank_name: string;
  account_last4: string;
  non_card_reason: string | null;
  non_card_note: string | null;
}

/** The people of the actor's region subtree (在册) whose active account is not a 社保卡, narrowed by the filters. */
export function notOnCardQuery(db: Conn, actor: Pick<Actor, 'regionPath'>, filter: NotOnCardFilter) {
  const q = whereRegionInScope(db('beneficiary_person as p').join('core_region as v', 'v.id', 'p.village_id').join('beneficiary_account as a', 'a.active_person_id', 'p.id'), 'p.village_id', actor, db)
    .where('p.status', 'active')
    // The kinds other than the card, by name: the count starts from those accounts (beneficiary_account_kind_person).
    .whereIn('a.kind', NOT_ON_CARD_KINDS)
    .select('p.id', 'p.name', 'p.id_masked', 'p.village_id', 'v.name as village_name', 'a.kind', 'a.bank_name', 'a.account_last4', 'a.non_card_reason', 'a.non_card_note');
  if (filter.name) whereTextHolds(q, 'p.id', filter.name, NAME_PIECES);
  if (filter.villageId) q.where('p.village_id', filter.villageId);
  if (filter.kind) q.where('a.kind', filter.kind);
  if (filter.reason === 'none') q.whereNull('a.non_card_reason');
  else if (filter.reason) q.where('a.non_card_reason', filter.reason as NonCardReason);
  return q;
}

/** A row as the page and its export show it (ID number masked, the account by its last digits). */
export function presentNotOnCard(r: NotOnCardRow) {
  return {
    id: r.id,
    name: r.name,
    idMasked: r.id_masked,
    village: r.village_name,
    account: `${r.bank_name}${ACCOUNT_KIND_LABELS[r.kind]} ****${r.account_last4}`,
    kind: ACCOUNT_KIND_LABELS[r.kind],
    reason: nonCardReasonText(r.non_card_reason, r.non_card_note),
  };
}
