import { type AuditAction, type AuditSummary, type AuditVocabulary, clauses } from '../../core/audit-vocabulary.ts';
import { exportAuditAction } from '../../core/lists.ts';
import { RULE_LABELS } from './checks/engine.ts';
import { ROSTER_STATES, ROSTER_TRANSITIONS, ROUND_STATES, formatQuantity } from './model.ts';

const states = (s: AuditSummary, labels: Record<string, string>) => `由“${s.choice('from', labels)}”转为“${s.choice('to', labels)}”`;
const reason = (s: AuditSummary) => s.has('reason') && `原因：${s.text('reason')}`;

/** A step of a roster's state machine (ROSTER_TRANSITIONS, model.ts): one action code per transition. */
function rosterStep(label: string): AuditAction {
  return {
    label: `清册：${label}`,
    sentence: (s) => {
      const publicity = s.part('publicity');
      return clauses(`${s.ref('round', 'round')}的清册${states(s, ROSTER_STATES)}`, publicity.has('start') && `公示期 ${publicity.text('start')} 至 ${publicity.text('end')}`, reason(s));
    },
  };
}

/** A step of a round (round-workflow.ts). */
function roundStep(label: string): AuditAction {
  return { label: `批次：${label}`, sentence: (s) => clauses(`批次${states(s, ROUND_STATES)}`, s.has('reason') && `说明：${s.text('reason')}`) };
}

/** How the audit log reads the batch module's actions (see core/audit-vocabulary.ts). */
export const batchAuditVocabulary: AuditVocabulary = {
  name: 'batch',
  title: '发放批次',
  actions: {
    'batch.round.create': { label: '批次：建立', sentence: (s) => clauses(`“${s.text('title')}”`, s.has('expedited') && '应急救助（事后公示）', `${s.count('townships')} 个乡镇各建一份清册`) },
    'batch.round.reissue': { label: '批次：建立补发批次', sentence: (s) => clauses(`补发 ${s.count('lines')} 笔`, `原批次为${s.ref('round', 'original')}`) },
    'batch.round.payment_plan': {
      label: '批次：录入用款计划',
      sentence: (s) => clauses(`用款计划 ${s.text('planNo')}`, `金额 ${s.yuan('planFen')}`, `日期 ${s.text('planDate')}`, s.has('replaced') && `替换原计划 ${s.text('replaced')}`),
    },
    'batch.round.submit': roundStep('汇总上报财政'),
    'batch.round.return': roundStep('退回主管部门'),
    'batch.round.release': roundStep('程序性复核通过，下达代发金融机构'),
    'batch.round.transfer': roundStep('登记拨付'),
    'batch.rounds.export': exportAuditAction('批次：导出批次列表'),
    ...Object.fromEntries(Object.entries(ROSTER_TRANSITIONS).map(([action, t]) => [`batch.roster.${action}`, rosterStep(t.label)])),
    'batch.roster.import': {
      label: '清册：从文件导入',
      sentence: (s) =>
        s.has('repeated')
          ? `“${s.text('file')}”此前已导入，清册未变`
          : clauses(`导入“${s.text('file')}”${s.count('rows')} 行`, `新增 ${s.count('added')}，修改 ${s.count('updated')}，未变化 ${s.count('unchanged')}`),
    },
    'batch.roster.prefill': { label: '清册：参照上期编制', sentence: (s) => clauses(`参照“${s.text('from')}”`, `新增 ${s.count('added')} 人`, `未纳入 ${s.count('skipped')} 人`) },
    'batch.roster.post_publicity': {
      label: '清册：登记发放后公示（事后公示）',
      sentence: (s) => {
        const publicity = s.part('publicity');
        return clauses(`${s.ref('round', 'round')}的应急救助清册已于发放后公示`, `公示期 ${publicity.text('start')} 至 ${publicity.text('end')}`);
      },
    },
    'batch.roster.print': {
      label: '清册：打印或下载',
      sentence: (s) => clauses(`下载整份清册（${s.choice('format', { pdf: 'PDF', xlsx: 'Excel' })}）`, `${s.count('lines')} 人`, `金额 ${s.yuan('totalFen')}`),
    },
    'batch.roster.check': { label: '清册：复核比对', sentence: (s) => clauses(`阻断问题 ${s.count('blocking')} 个`, `提示 ${s.count('warnings')} 个`, `已说明 ${s.count('resolved')} 个`) },
    'batch.line.add': {
      label: '清册：新增发放对象',
      sentence: (s) => clauses(`在${s.ref('roster', 'roster')}中新增一人`, s.has('tier') && `档次“${s.text('tier')}”`, `数量 ${formatQuantity(s.count('quantityMilli'))}`),
    },
    'batch.line.remove': { label: '清册：移除发放对象', sentence: (s) => clauses(`从${s.ref('roster', 'roster')}中移除一人`, reason(s)) },
    'batch.lines.return': { label: '清册：退回部分明细', sentence: (s) => clauses(`退回 ${s.list('lines').length} 行修改`, reason(s)) },
    'batch.finding.resolve': {
      label: '清册：说明比对提示',
      sentence: (s) => clauses(`${s.ref('roster', 'roster')}的“${RULE_LABELS[s.text('rule')] ?? '比对'}”提示`, `说明：${s.text('reason')}`),
    },
    'batch.objection.record': { label: '公示：登记异议', sentence: (s) => `${s.ref('roster', 'roster')}公示期间收到一条异议` },
    'batch.objection.resolve': { label: '公示：处理异议', sentence: (s) => `处理结果：${s.text('resolution')}` },
  },
  objects: {
    round: { label: '发放批次', names: async (db, ids) => new Map((await db('batch_round').whereIn('id', ids.map(Number)).select('id', 'title')).map((r) => [String(r.id), `“${r.title}”`])) },
    roster: {
      label: '清册',
      names: async (db, ids) =>
        new Map(
          (await db('batch_roster as s').join('batch_round as r', 'r.id', 's.round_id').join('core_region as t', 't.id', 's.township_id').whereIn('s.id', ids.map(Number)).select('s.id', 'r.title', 't.name')).map(
            (r) => [String(r.id), `“${r.title}”${r.name}`],
          ),
        ),
    },
    line: { label: '清册明细' },
    finding: { label: '比对提示' },
    objection: { label: '公示异议' },
  },
};
