import type { Core } from '../../core/context.ts';
import type { AppModule } from '../../core/module.ts';
import { formatDateTime } from '../../core/dates.ts';
import { formatYuan } from '../../core/money.ts';
import { paymentsOf, roundMoney } from '../batch/index.ts';
import { bankApi } from './api.ts';
import { bankRounds } from './commands.ts';
import { noticesOf, sendQueuedNotices } from './notices.ts';
import { resultsOfLines } from './results.ts';
import { bankRoutes } from './routes.ts';

/**
 * The bank module: everything after release, on the agent bank's side (steps 11–12). So far: the payout files of
 * the rounds released to a bank, on its pages and through its API token. Other modules use only this file.
 */
export function createBankModule(core: Core): AppModule {
  return {
    name: 'bank',
    nav: [{ href: '/bank/payouts', label: '代发文件', roles: ['bank'] }],
    routes: bankRoutes,
    api: bankApi(core),
    panels: {
      // The one-card view, continued: what the agent bank answered for each released payment line of the person.
      async person(_actor, personId) {
        const lines = (await paymentsOf(core.db, personId)).filter((p) => p.round_state === 'released' || p.round_state === 'transferred');
        if (lines.length === 0) return null;
        const notices = await noticesOf(core.db, personId);
        const results = await resultsOfLines(core.db, lines.map((l) => Number(l.line_id)));
        return {
          title: '代发银行发放结果',
          template: 'bank/_person-results.njk',
          data: {
            rows: lines.map((l) => {
              const r = results.get(Number(l.line_id));
              return {
                round: l.round_title,
                amount: formatYuan(Number(l.amount_fen)),
                result: !r ? '待银行回盘' : r.result === 'paid' ? '已发放到账' : `发放失败：${r.failure_code} ${r.failure_reason ?? ''}`,
                at: r ? formatDateTime(r.recorded_at) : '',
              };
            }),
            notices: notices.map((n) => ({ text: n.text, state: n.state === 'sent' ? `已发送（${formatDateTime(n.sent_at)}）` : '待发送' })),
          },
        };
      },
    },
    tasks: () => [
      {
        name: 'notice-send',
        label: '发送补贴发放告知（代发银行短信）',
        schedule: '*/5 * * * *',
        async run() {
          return `已发送 ${await sendQueuedNotices(core.db)} 条告知`;
        },
      },
    ],
    async queues(actor) {
      if (!actor.roles.includes('bank') || actor.orgId === null) return [];
      const rounds = await bankRounds(core, { actor });
      if (rounds.length === 0) return [];
      let totalFen = 0;
      for (const r of rounds) totalFen += (await roundMoney(core.db, r.id)).linesFen;
      return [{ title: '已下达本机构的发放批次（下载代发文件）', count: rounds.length, totalFen, href: '/bank/payouts' }];
    },
  };
}
