import { type AuditSummary, type AuditVocabulary, changes, clauses } from '../../core/audit-vocabulary.ts';
import { FREQUENCY_LABELS, PAYEE_LABELS } from './files.ts';

const item = (s: AuditSummary) => `补贴项目 ${s.text('code')}`;

/** A version's summary (commands.ts) with its codes in Chinese, so that two can be compared field by field. */
function readable(s: AuditSummary): AuditSummary {
  return s.with({ payee: s.choice('payee', PAYEE_LABELS), frequency: s.choice('frequency', FREQUENCY_LABELS), confidential: s.has('confidential') ? '涉密' : '公开', meansTested: s.has('meansTested') ? '救助类' : '非救助类', emergencyRelief: s.has('emergencyRelief') ? '突发灾害应急救助' : '非应急救助' });
}

const VERSION_FIELDS = { name: '名称', basis: '政策依据', payee: '发放方式', frequency: '发放频次', standard: '标准', years: '执行年度', effective: '生效年度', confidential: '公开属性', meansTested: '救助类', emergencyRelief: '突发灾害应急救助', exclusive: '互斥政策' };

/** How the audit log reads the policy module's actions (see core/audit-vocabulary.ts). */
export const policyAuditVocabulary: AuditVocabulary = {
  name: 'policy',
  title: '政策清单',
  actions: {
    'policy.create': {
      label: '新增补贴项目',
      sentence: (s) => {
        const after = readable(s.part('after'));
        return clauses(`${item(s)}“${after.text('name')}”`, `${after.text('payee')}、${after.text('frequency')}发放`, `自 ${after.text('effective')} 年起`, after.text('meansTested') === '救助类' && '救助类', after.text('emergencyRelief') === '突发灾害应急救助' && '突发灾害应急救助（可先发放后公示）', after.text('confidential') === '涉密' && '涉密');
      },
    },
    'policy.draft.save': {
      label: '保存补贴项目草稿',
      sentence: (s) => {
        if (!s.has('before')) return `${item(s)}“${s.part('after').text('name')}”`;
        return `${item(s)}：${changes(readable(s.part('before')), readable(s.part('after')), VERSION_FIELDS) || '内容未改变'}`;
      },
    },
    'policy.publish': { label: '复核发布补贴项目', sentence: (s) => `${item(s)}第 ${s.count('version')} 版，自 ${s.text('effective')} 年起执行` },
    'policy.return': { label: '退回补贴项目', sentence: (s) => clauses(`${item(s)}第 ${s.count('version')} 版`, `原因：${s.text('reason')}`) },
    'policy.import': {
      label: '导入政策清单',
      sentence: (s) => `“${s.text('file')}” ${s.count('rows')} 项：新增 ${s.count('created')} 项，调整 ${s.count('changed')} 项，未变化 ${s.count('unchanged')} 项`,
    },
    'policy.allocation.record': {
      label: '登记资金指标',
      sentence: (s) => clauses(`${item(s)} ${s.text('year')} 年指标 ${s.text('amount')} 元`, s.has('doc') && `文号：${s.text('doc')}`),
    },
    'policy.allocation.import': {
      label: '导入指标文件',
      sentence: (s) =>
        clauses(
          `${s.text('channel') === 'api' ? '预算管理一体化系统接口推送' : `“${s.text('file')}”`} ${s.count('rows')} 条`,
          `新登记 ${s.count('created')} 条（${s.yuan('amountFen')}）`,
          `已登记且相同 ${s.count('unchanged')} 条`,
          s.text('docs') !== '' && `文号：${s.text('docs')}`,
        ),
    },
    'policy.goals.set': {
      label: '设定绩效目标',
      sentence: (s) => clauses(`${item(s)} ${s.text('year')} 年绩效目标`, `原为：${s.text('before') || '未设定'}`, `改为：${s.text('after') || '未设定'}`),
    },
    'policy.curve.set': {
      label: '设定预算执行进度要求',
      sentence: (s) => clauses(`${s.text('year')} 年预算执行进度要求`, `原为：${s.text('before')}`, `改为：${s.text('after')}`),
    },
  },
  objects: {
    policy: {
      label: '补贴项目',
      names: async (db, ids) => {
        // The latest version's name of each item.
        const rows: { item_id: number; code: string; name: string }[] = await db('policy_version as v')
          .join('policy_item as i', 'i.id', 'v.item_id')
          .whereIn('v.item_id', ids.map(Number))
          .whereNotExists(db('policy_version as later').whereRaw('later.item_id = v.item_id').whereRaw('later.version_no > v.version_no'))
          .select('v.item_id', 'i.code', 'v.name');
        return new Map(rows.map((r) => [String(r.item_id), `${r.code}“${r.name}”`]));
      },
    },
    allocation_import: {
      label: '指标文件导入',
      names: async (db, ids) => new Map(((await db('policy_allocation_import').whereIn('id', ids.map(Number)).select('id', 'file_name')) as { id: number; file_name: string }[]).map((i) => [String(i.id), `“${i.file_name}”`])),
    },
    policy_import: {
      label: '政策清单导入',
      names: async (db, ids) => new Map(((await db('policy_import').whereIn('id', ids.map(Number)).select('id', 'file_name')) as { id: number; file_name: string }[]).map((i) => [String(i.id), `“${i.file_name}”`])),
    },
  },
};
