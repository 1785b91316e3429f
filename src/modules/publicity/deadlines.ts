import type { Role } from '../../core/auth/roles.ts';
import type { DeadlineRule } from '../../core/deadlines.ts';
import { COMPLAINT_ASSIGNEES } from './policy.ts';

/**
 * The publicity module's clock: a complaint assigned to a township or to a department (主管部门) is answered within the
 * county's limit (working days, default 15); overdue, the core deadlines put it on the supervisors' list and notify them.
 */
export const PUBLICITY_DEADLINES = {
  complaint_answer: {
    code: 'complaint_answer',
    label: '交办投诉举报答复',
    days: 15,
    unit: 'working',
    responsible: ['township_station', 'township_finance', 'department'],
    basis: '限时办理（县级设置，默认 15 个工作日，自交办之日起计）',
    href: () => '/publicity/complaints',
  },
} satisfies Record<string, DeadlineRule>;

/** Who answers on a complaint's clock: the township's station and finance office, or the department's users. */
const COMPLAINT_ANSWERERS: Record<'township' | 'department', readonly Role[]> = { township: COMPLAINT_ASSIGNEES, department: ['department'] };

/** The complaint_answer rule as a clock of this assignee opens it: the same code and length, its answerers responsible. */
export const complaintAnswerClock = (assignee: 'township' | 'department'): DeadlineRule => ({ ...PUBLICITY_DEADLINES.complaint_answer, responsible: [...COMPLAINT_ANSWERERS[assignee]] });
