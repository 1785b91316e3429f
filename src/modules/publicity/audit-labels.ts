import { type AuditVocabulary, clauses } from '../../core/audit-vocabulary.ts';

/** How the audit log reads the publicity module's actions (see core/audit-vocabulary.ts). */
export const publicityAuditVocabulary: AuditVocabulary = {
  name: 'publicity',
  title: '公示',
  actions: {
    'publicity.complaint.file': {
      label: '群众提出公示异议或投诉举报',
      sentence: (s) => clauses(`${s.text('kind') === 'objection' ? '公示异议' : '投诉举报'}`, `受理编号 ${s.text('trackingNo')}`),
    },
    'publicity.complaint.progress': { label: '投诉举报转为办理中', sentence: (s) => `受理编号 ${s.text('trackingNo')}` },
    'publicity.complaint.answer': { label: '答复投诉举报', sentence: (s) => clauses(`受理编号 ${s.text('trackingNo')}`, s.has('assignee') && `承办部门 ${s.text('assignee')}`, `答复：${s.text('answer')}`) },
    'publicity.complaint.enter': { label: '登记投诉举报（电话、来信、来访）', sentence: (s) => clauses(`受理编号 ${s.text('trackingNo')}`, `收到日期 ${s.text('receivedOn')}`) },
    'publicity.complaint.assign': { label: '交办投诉举报', sentence: (s) => clauses(`受理编号 ${s.text('trackingNo')}`, s.has('assignee') && `交办${s.has('department') ? '主管部门' : '乡镇'} ${s.text('assignee')}`, `答复期限 ${s.text('dueOn')}`) },
    'publicity.complaint.close': { label: '办结投诉举报', sentence: (s) => `受理编号 ${s.text('trackingNo')}` },
    'publicity.complaint.return': { label: '退回投诉举报答复', sentence: (s) => clauses(`受理编号 ${s.text('trackingNo')}`, `原因：${s.text('note')}`) },
    'publicity.payment_query': {
      label: '公开查询个人发放结果',
      sentence: (s) => clauses(s.text('result') === 'found' ? `查到 ${s.count('payments')} 笔发放记录` : s.text('result') === 'throttled' ? '查询过于频繁，已拒绝' : '未查到（姓名、身份证号码或账户后四位不符）'),
    },
    'publicity.violation.publish': {
      label: '公开曝光违规问题',
      sentence: (s) => clauses(`“${s.text('title')}”`, `发生地 ${s.text('place')}`, `涉及 ${s.yuan('involvedFen')}`, `已追回 ${s.yuan('recoveredFen')}`, `处理决定 ${s.text('docNumber')}`),
    },
    'publicity.violation.propose': {
      label: '提议公开曝光违规问题',
      sentence: (s) => clauses(`“${s.text('title')}”`, `发生地 ${s.text('place')}`, `涉及 ${s.yuan('involvedFen')}`, `已追回 ${s.yuan('recoveredFen')}`, `处理决定 ${s.text('docNumber')}`),
    },
    'publicity.violation.recover': { label: '登记追回违规资金', sentence: (s) => clauses(`“${s.text('title')}”`, `${s.text('recoveredOn')} 追回 ${s.yuan('amountFen')}`, `凭证 ${s.text('doc')}`) },
    'publicity.violation.withdraw': { label: '撤回曝光的违规问题', sentence: (s) => clauses(`“${s.text('title')}”`, `原因：${s.text('reason')}`) },
    'publicity.notice.publish': {
      label: '发布公示',
      sentence: (s) => clauses(`公示 #${s.text('notice')}`, `公示期 ${s.text('start')} 至 ${s.text('end')}`, `${s.count('villages')} 个村（社区）`, `${s.count('lines')} 人`, `金额 ${s.yuan('totalFen')}`),
    },
    'publicity.posting.record': {
      label: '登记公示张贴情况',
      sentence: (s) => clauses(`公示 #${s.text('notice')}`, `${s.text('place') === 'village_board' ? '村务公开栏' : s.text('place') === 'township_board' ? '乡镇（街道）公示栏' : `其他地点：${s.text('location')}`}`, `张贴日期 ${s.text('postedOn')}`),
    },
    'publicity.sheet.print': {
      label: '打印公示表',
      sentence: (s) => clauses(`${s.text('kind') === 'township' ? '乡镇汇总表' : '村（社区）公示表'} ${s.count('sheets')} 张`, `${s.count('lines')} 行`, `金额 ${s.yuan('totalFen')}`, `验证码 ${s.text('codes')}`),
    },
  },
  objects: { complaint: { label: '群众异议和投诉举报' }, violation: { label: '违规问题曝光' } },
};
