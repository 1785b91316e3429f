import type { AuditVocabulary } from '../../core/audit-vocabulary.ts';
import { exportAuditAction } from '../../core/lists.ts';

/** How the audit log reads the supervision module's actions (see core/audit-vocabulary.ts). */
export const supervisionAuditVocabulary: AuditVocabulary = {
  name: 'supervision',
  title: '监督检查',
  actions: {
    'supervision.deadlines.export': exportAuditAction('监督：导出限时办理监控表'),
    'supervision.export.request': { label: '完整导出：申请（脱敏）', sentence: (s) => `期间 ${s.text('from')} 至 ${s.text('to')}` },
    'supervision.export.request_clear': { label: '完整导出：申请（明文身份证号码）', sentence: (s) => `期间 ${s.text('from')} 至 ${s.text('to')}；事由：${s.text('reason')}` },
    'supervision.export.expire': { label: '完整导出：明文文件过保存期删除', sentence: (s) => `保存 ${s.count('days')} 天后删除` },
    'supervision.export.download': { label: '完整导出：下载', sentence: (s) => `${s.has('clear') ? '明文' : '脱敏'}；SM3 ${s.text('sm3')}` },
    'supervision.reports.export': exportAuditAction('监督：导出发放统计报表'),
  },
  objects: { supervision_export: { label: '完整导出' } },
};
