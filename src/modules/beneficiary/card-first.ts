import { freeTextProblem } from '../../core/fields.ts';
import type { AccountKind } from './account-number.ts';

/**
 * 社保卡优先 (qinghai-2020-implementing-opinions.txt 二(一)1–2: subsidies are paid, as a rule, through the social
 * security card). A payout account that is not a 社保卡 — a bank card or a passbook — is accepted only with a reason
 * from this list, so that the township knows who still needs a card (the not-on-card list, bank module card routes,
 * where the station asks the agent bank to open cards). 其他 needs a few words of explanation.
 */
export const NON_CARD_REASONS = {
  not_issued: '社保卡尚未发放',
  reissuing: '社保卡挂失补办中',
  not_activated: '社保卡未激活金融功能',
  abnormal: '社保卡金融账户冻结或异常',
  other: '其他（须说明）',
} as const;
export type NonCardReason = keyof typeof NON_CARD_REASONS;

/** How the reason reads on a page or in a list: the label, and for 其他 the explanation. */
export function nonCardReasonText(reason: string | null, note: string | null): string {
  if (!reason) return '未填写';
  if (reason === 'other') return note ? `其他：${note}` : '其他';
  return NON_CARD_REASONS[reason as NonCardReason] ?? reason;
}

export const NON_CARD_NOTE_MAX = 100;

/**
 * The other ways counties' sheets write the reasons (registry import, column 非社保卡原因); the labels themselves are
 * accepted besides, and 其他：说明 (or 其它, with a full- or half-width colon) gives 其他 with its explanation.
 */
export const NON_CARD_REASON_ALIASES: Readonly<Record<string, NonCardReason>> = {
  未发放: 'not_issued',
  社保卡未发放: 'not_issued',
  尚未发放: 'not_issued',
  未领卡: 'not_issued',
  未领取社保卡: 'not_issued',
  尚未领取社保卡: 'not_issued',
  未办理社保卡: 'not_issued',
  无社保卡: 'not_issued',
  挂失: 'reissuing',
  挂失补办: 'reissuing',
  补办中: 'reissuing',
  补卡中: 'reissuing',
  社保卡挂失: 'reissuing',
  社保卡丢失: 'reissuing',
  未激活: 'not_activated',
  金融功能未激活: 'not_activated',
  社保卡未激活: 'not_activated',
  冻结: 'abnormal',
  账户冻结: 'abnormal',
  社保卡冻结: 'abnormal',
  账户异常: 'abnormal',
  其他: 'other',
  其它: 'other',
};

const key = (text: string) => text.replace(/\s/g, '').replace(/（/g, '(').replace(/）/g, ')');
const BY_TEXT = new Map<string, NonCardReason>([
  ...Object.entries(NON_CARD_REASON_ALIASES).map(([t, r]) => [key(t), r] as const),
  ...(Object.entries(NON_CARD_REASONS) as [NonCardReason, string][]).map(([r, t]) => [key(t), r] as const),
]);

export type ParsedNonCardReason = { ok: true; reason: NonCardReason; note: string | null } | { ok: false; error: string };

/** A reason cell of an import: a label or alias, or 其他 followed by its explanation (其他：…). */
export function parseNonCardReason(text: string): ParsedNonCardReason {
  const other = /^(其他|其它)(?:\(须说明\)|（须说明）)?\s*[：:，,]\s*(.+)$/.exec(text.trim());
  if (other) {
    const note = other[2]!.trim();
    const problem = nonCardNoteProblem(note);
    return problem ? { ok: false, error: problem } : { ok: true, reason: 'other', note };
  }
  const reason = BY_TEXT.get(key(text));
  if (!reason) {
    return { ok: false, error: `「${[...text].slice(0, 10).join('')}」无法识别：应为${Object.values(NON_CARD_REASONS).map((l) => `「${l}」`).join('')}之一，其他原因写作「其他：说明」` };
  }
  if (reason === 'other') return { ok: false, error: '原因为其他的须说明，写作「其他：说明」' };
  return { ok: true, reason, note: null };
}

function nonCardNoteProblem(note: string): string | null {
  if ([...note].length > NON_CARD_NOTE_MAX) return `说明不能超过 ${NON_CARD_NOTE_MAX} 个字`;
  return freeTextProblem(note);
}

/**
 * Whether an account's reason is as the rule wants: none needed for a 社保卡; for another kind one of the list, and
 * for 其他 an explanation. The problems keyed by the form's fields (nonCardReason, nonCardNote).
 */
export function nonCardReasonProblems(account: { kind: AccountKind; nonCardReason?: string | null; nonCardNote?: string | null }): Record<string, string> {
  if (account.kind === 'sscard') return {};
  const reason = account.nonCardReason ?? null;
  if (!reason) return { nonCardReason: '账户类型不是社会保障卡时，须选择未使用社保卡的原因（社保卡优先）' };
  if (!(reason in NON_CARD_REASONS)) return { nonCardReason: '请从列表中选择未使用社保卡的原因' };
  const note = account.nonCardNote?.trim() ?? '';
  if (reason === 'other' && note === '') return { nonCardNote: '原因为其他的，请写明具体原因' };
  const problem = note ? nonCardNoteProblem(note) : null;
  return problem ? { nonCardNote: problem } : {};
}

/** What is stored with an account: nothing for a 社保卡, the reason (and the note of 其他) otherwise. */
export function nonCardColumns(account: { kind: AccountKind; nonCardReason?: string | null; nonCardNote?: string | null }): { non_card_reason: string | null; non_card_note: string | null } {
  if (account.kind === 'sscard' || !account.nonCardReason) return { non_card_reason: null, non_card_note: null };
  return { non_card_reason: account.nonCardReason, non_card_note: account.nonCardReason === 'other' ? (account.nonCardNote?.trim() || null) : null };
}
