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
 * The clock the publicity module opens when a complaint (投诉举报) is assigned to a township or a department (its rule
 * code in core_deadline, object type 'complaint'): the overview counts a complaint overdue when this clock is past due.
 * A complaint not yet assigned runs on no clock and is not counted overdue.
 */
export const COMPLAINT_CLOCK = { rule: 'complaint_answer', objectType: 'complaint' } as const;

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

/** A complaint or objection from the portal as the overview counts it: its kind and where it stands. */
export interface ComplaintStanding {
  kind: string;
  standing: string;
}
