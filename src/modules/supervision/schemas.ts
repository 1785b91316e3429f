import { z } from 'zod';
import { checkbox, id, optional } from '../../core/fields.ts';

/**
 * The deadline monitor's filters (query string, core/lists.ts): the rule (类别) among the rules the modules declare,
 * the unit (the clock's region), overdue only. A value the page does not offer is refused with 422 and the reason,
 * as on the other list pages.
 */
export function monitorFilters(ruleCodes: readonly string[]) {
  const codes = (ruleCodes.length ? ruleCodes : ['-']) as [string, ...string[]];
  return {
    rule: optional(z.enum(codes, { error: '类别无效：请在列表中选择限时办理事项的类别' })),
    unit: optional(id('责任单位')),
    overdue: checkbox,
  };
}
