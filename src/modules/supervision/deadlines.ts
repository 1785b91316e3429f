import type { DeadlineRule } from '../../core/deadlines.ts';

/** The clock of a finding (问题线索): the responsible township or department answers within it; closed on the answer. */
export const SUPERVISION_DEADLINES = {
  supervision_finding: {
    code: 'supervision_finding',
    label: '问题线索整改答复',
    days: 10,
    unit: 'working',
    responsible: ['township_station', 'township_finance', 'department'],
    basis: '监督检查发现的问题线索，由责任乡镇或部门在10个工作日内核实整改并答复（县里可在“时限设置”中调整）',
    href: (_type: string, id: string) => `/supervision/findings/${id}`,
  },
} satisfies Record<string, DeadlineRule>;
