/**
 * The supervision module's vocabulary (监督检查): what its pages count and how. Pure: no database.
 */

/** The modules whose clocks (限时办理) the monitor lists, by the AppModule name that declares the rule. */
export const MODULE_LABELS: Record<string, string> = {
  policy: '政策清单',
  beneficiary: '补贴对象',
  agreement: '代发协议',
  batch: '发放批次',
  bank: '代发与失败处理',
  publicity: '公示公开',
  supervision: '监督检查',
};

/**
 * A complaint from the portal (投诉举报) still unanswered this many calendar days after it was filed is overdue on the
 * overview. The publicity module opens no clock for complaints; the figure follows 《信访工作条例》(2022) 第三十二条:
 * 信访事项应当自受理之日起 60 日内办结.
 */
export const COMPLAINT_ANSWER_DAYS = 60;

/** How many months the timeliness table covers, the current one included. */
export const TIMELINESS_MONTHS = 12;

/** "2026-12" → the 12 months ending with it, oldest first. */
export function monthsEndingWith(month: string, count = TIMELINESS_MONTHS): string[] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const months: string[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const index = y * 12 + (m - 1) - i;
    months.push(`${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`);
  }
  return months;
}

/** On-time share of closed clocks, as a percentage with one decimal ("92.3%"), or null when none closed. */
export function timelinessRate(onTime: number, closed: number): string | null {
  if (closed === 0) return null;
  return `${(Math.round((onTime * 1000) / closed) / 10).toFixed(1)}%`;
}

/** A complaint or objection from the portal as the overview counts it: its kind, where it stands, when it was filed. */
export interface ComplaintStanding {
  kind: string;
  standing: string;
  filed_on: string;
}
