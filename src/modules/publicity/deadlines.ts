import type { DeadlineRule } from '../../core/deadlines.ts';

/**
 * The publicity module's clock: a complaint assigned to a township is answered within the county's limit (working
 * days, default 15); overdue, the core deadlines put it on the supervisors' list and notify them.
 */
export const PUBLICITY_DEADLINES = {
  complaint_answer: {
    code: 'complaint_answer',
    label: '交办投诉举报答复',
    days: 15,
    unit: 'working',
    responsible: ['township_station', 'township_finance'],
    basis: '限时办理（县级设置，默认 15 个工作日，自交办之日起计）',
    href: () => '/publicity/complaints',
  },
} satisfies Record<string, DeadlineRule>;
