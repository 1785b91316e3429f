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
    'supervision.sample.draw': { label: '抽查：抽取样本', sentence: (s) => `从 ${s.count('population')} ${s.text('unit') === 'person' ? '人中抽取' : '条明细中抽取'} ${s.count('size')} ${s.text('unit') === 'person' ? '人' : '条'}；随机种子 ${s.text('seed')}；总体 SM3 ${s.text('digest')}` },
    'supervision.visit.record': { label: '抽查：登记走访结果', sentence: (s) => `第 ${s.count('position')} 条，走访日期 ${s.text('visited_on')}，结果 ${s.text('outcome')}` },
    'supervision.screening.request': { label: '比对筛查：申请', sentence: (s) => `期间 ${s.text('from')} 至 ${s.text('to')}` },
    'supervision.screening.run': { label: '比对筛查：完成', sentence: (s) => `筛查 ${s.count('lines')} 条明细，发现 ${s.count('hits')} 条问题，新生成问题线索 ${s.count('opened')} 条` },
    'supervision.finding.open': { label: '问题线索：生成', sentence: (s) => `来源 ${s.text('source')}` },
    'supervision.finding.answer': { label: '问题线索：责任单位答复' },
    'supervision.finding.close': { label: '问题线索：办结', sentence: (s) => `结论 ${s.text('conclusion')}` },
  },
  objects: { supervision_export: { label: '完整导出' }, supervision_sample: { label: '抽查' }, supervision_finding: { label: '问题线索' }, supervision_screening: { label: '比对筛查' } },
};
