import { formatYuan } from '../../core/money.ts';
import { ID_MASK_LABELS, NAME_MASK_LABELS } from '../../core/public-mask.ts';
import type { RosterRow, RoundRow } from '../batch/index.ts';
import { ROSTER_STATES } from '../batch/index.ts';
import { SHEET_KINDS, type SheetContent, formatSheetCode } from './model.ts';
import type { SheetRow, SheetStatus } from './queries.ts';

export const SHEET_STATUS = {
  current: { label: '有效：与系统中现在的公示内容一致', tone: 'ok' },
  updated: { label: '已被更新：打印后公示内容已有变化，请以最新张贴的公示表为准', tone: 'warn' },
  withdrawn: { label: '已作废：该清册公示后已退回修改', tone: 'warn' },
} as const satisfies Record<SheetStatus, { label: string; tone: string }>;

/** A roster's publicity page: what its sheets will print, and the links the reader may follow. */
export function presentRosterPublicity(
  roster: RosterRow,
  round: RoundRow,
  sheets: { villages: { villageId: number; content: SheetContent }[]; summary: SheetContent },
  printed: Omit<SheetRow, 'content'>[],
  villageNames: Map<number, string>,
) {
  const { summary } = sheets;
  const missingPhones = [!summary.phones.county && '县（区）', !summary.phones.township && roster.township_name].filter(Boolean) as string[];
  return {
    roster: { id: roster.id, township: roster.township_name, state: ROSTER_STATES[roster.state], publicity: `${roster.publicity_start} 至 ${roster.publicity_end}${round.expedited ? '（事后公示）' : ''}` },
    round: { id: round.id, title: round.title },
    phones: summary.phones,
    missingPhones,
    canPrint: missingPhones.length === 0,
    villages: sheets.villages.map((v) => ({ id: v.villageId, name: v.content.village, people: v.content.total.people, amount: v.content.total.amount })),
    total: { people: summary.total.people, amount: summary.total.amount },
    printed: printed.map((p) => ({ code: formatSheetCode(p.code), href: `/public/verify/${p.code}`, kind: SHEET_KINDS[p.kind], village: p.kind === 'township' ? '全乡镇' : (villageNames.get(p.village_id) ?? ''), lines: p.lines, amount: formatYuan(p.total_fen), at: p.created_at })),
  };
}

/** A printed sheet on the portal: its notice as printed (masked public data) and whether it is still current. */
export function presentVerifiedSheet(code: string, content: SheetContent, status: SheetStatus, printedAt: string) {
  return {
    code: formatSheetCode(code),
    status: SHEET_STATUS[status],
    kind: SHEET_KINDS[content.kind],
    content,
    printedAt,
  };
}

export const maskOptions = {
  id: Object.entries(ID_MASK_LABELS).map(([value, label]) => ({ value, label })),
  name: Object.entries(NAME_MASK_LABELS).map(([value, label]) => ({ value, label })),
};
