import { type AuditVocabulary, clauses } from '../../core/audit-vocabulary.ts';

/** How the audit log reads the publicity module's actions (see core/audit-vocabulary.ts). */
export const publicityAuditVocabulary: AuditVocabulary = {
  name: 'publicity',
  title: '公示',
  actions: {
    'publicity.sheet.print': {
      label: '打印公示表',
      sentence: (s) => clauses(`${s.text('kind') === 'township' ? '乡镇汇总表' : '村（社区）公示表'} ${s.count('sheets')} 张`, `${s.count('lines')} 行`, `金额 ${s.yuan('totalFen')} 元`, `验证码 ${s.text('codes')}`),
    },
  },
};
