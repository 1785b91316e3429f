import { formatYuan } from '../../core/money.ts';
import { ID_MASK_LABELS, NAME_MASK_LABELS } from '../../core/public-mask.ts';
import type { Actor } from '../../core/auth/roles.ts';
import { MIN_PUBLICITY_DAYS, ROSTER_STATES, type RosterRow, type RoundRow } from '../batch/index.ts';
import { MAX_PUBLICITY_DAYS, NOTICE_KINDS, NOTICE_STATUSES, POSTING_PLACES, SHEET_KINDS, type SheetContent, formatSheetCode } from './model.ts';
import { can } from './policy.ts';
import type { Notice, NoticeSheet, PostingRow, RosterSheets, SheetRow, SheetStatus } from './queries.ts';

export const SHEET_STATUS = {
  current: { label: '有效：与系统中现在的公示内容一致', tone: 'ok' },
  updated: { label: '已被更新：打印后公示内容已有变化，请以最新张贴的公示表为准', tone: 'warn' },
  withdrawn: { label: '已作废：该清册公示后已退回修改', tone: 'warn' },
} as const satisfies Record<SheetStatus, { label: string; tone: string }>;

/** A notice in a list: its period, where it stands, what it published. */
export function presentNotice(n: Notice) {
  return {
    id: n.id,
    title: n.title,
    kind: NOTICE_KINDS[n.kind],
    period: `${n.publicity_start} 至 ${n.publicity_end}`,
    status: NOTICE_STATUSES[n.status],
    open: n.status === 'open',
    people: n.lines,
    amount: formatYuan(n.total_fen),
    publishedAt: n.published_at,
    href: `/public/notices/${n.id}`,
    countyId: n.county_id,
  };
}

/**
 * A notice on the portal as published: what its township summary printed (subsidy, basis, period, telephones, each
 * village's total), each village's latest sheet to check and read (masked), and where the paper was posted.
 */
export function presentPublicNotice(notice: Notice, published: { sheets: NoticeSheet[]; summary: { code: string; content: SheetContent } }, postings: PostingRow[]) {
  const latestSheet = new Map<number, NoticeSheet>();
  for (const s of published.sheets) if (s.kind === 'village') latestSheet.set(s.village_id, s);
  const villageNames = new Map([...latestSheet.values()].map((s) => [s.village_id, s.village_name ?? '']));
  const villages = [...latestSheet.values()].map((s) => ({ name: villageNames.get(s.village_id)!, people: s.lines, amount: formatYuan(s.total_fen), code: formatSheetCode(s.code), href: `/public/verify/${s.code}`, objectHref: `/public/complaints?code=${s.code}` }));
  return {
    notice: presentNotice(notice),
    content: published.summary.content,
    villages: villages.sort((a, b) => collator.compare(a.name, b.name)),
    summaryHref: `/public/verify/${published.summary.code}`,
    postings: postings.map((p) => presentPosting(p, villageNames)),
  };
}

const collator = new Intl.Collator('zh-Hans-CN', { numeric: true });

/** A posting of a notice's paper, as a list shows it. */
const presentPosting = (p: PostingRow, villageNames: Map<number, string>) => ({
  place: p.place === 'village_board' ? `${villageNames.get(p.village_id) ?? ''}${POSTING_PLACES.village_board}` : p.place === 'other' ? `${POSTING_PLACES.other}：${p.location}` : POSTING_PLACES[p.place],
  postedOn: p.posted_on,
});

/**
 * A roster's publicity page: the publication form where the actor may publish (publicity.can), the current notice
 * with its postings and the villages whose board has none yet, the sheets to print, and the roster's notices.
 */
export function presentRosterPublicity(
  actor: Actor,
  on: { roster: RosterRow; round: RoundRow; sheets: RosterSheets; printed: Omit<SheetRow, 'content'>[]; notices: Notice[]; postings: PostingRow[] },
) {
  const { roster, round, sheets, notices } = on;
  const { summary } = sheets;
  const villageNames = new Map(sheets.villages.map((v) => [v.villageId, v.content.village]));
  const missingPhones = [!summary.phones.county && '县（区）', !summary.phones.township && roster.township_name].filter(Boolean) as string[];
  const latest = notices[0];
  const latestPostings = latest ? on.postings.filter((p) => p.notice_id === latest.id) : [];
  const postedVillages = new Set(latestPostings.filter((p) => p.place === 'village_board').map((p) => p.village_id));
  return {
    roster: { id: roster.id, township: roster.township_name, state: ROSTER_STATES[roster.state], version: roster.version, publicity: roster.publicity_start ? `${roster.publicity_start} 至 ${roster.publicity_end}${round.expedited ? '（事后公示）' : ''}` : '尚未发布' },
    round: { id: round.id, title: round.title, expedited: round.expedited },
    phones: summary.phones,
    missingPhones,
    canPublish: can(actor, 'publish_notice', { round, roster }).ok,
    minDays: MIN_PUBLICITY_DAYS,
    maxDays: MAX_PUBLICITY_DAYS,
    canPrint: can(actor, 'print_sheets', roster).ok && missingPhones.length === 0,
    villages: sheets.villages.map((v) => ({ id: v.villageId, name: v.content.village, people: v.content.total.people, amount: v.content.total.amount })),
    total: { people: summary.total.people, amount: summary.total.amount },
    latest: latest ? { ...presentNotice(latest), postings: latestPostings.map((p) => presentPosting(p, villageNames)), unposted: sheets.villages.filter((v) => !postedVillages.has(v.villageId)).map((v) => v.content.village) } : null,
    canPost: latest ? can(actor, 'record_posting', { status: latest.status }).ok : false,
    placeOptions: Object.entries(POSTING_PLACES).map(([value, label]) => ({ value, label })),
    villageOptions: sheets.villages.map((v) => ({ value: v.villageId, label: v.content.village })),
    notices: notices.map(presentNotice),
    printed: on.printed.map((p) => ({ code: formatSheetCode(p.code), href: `/public/verify/${p.code}`, kind: SHEET_KINDS[p.kind], village: p.kind === 'township' ? '全乡镇' : (villageNames.get(p.village_id) ?? ''), lines: p.lines, amount: formatYuan(p.total_fen), at: p.created_at })),
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
