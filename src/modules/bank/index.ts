import type { Core } from '../../core/context.ts';
import type { AppModule } from '../../core/module.ts';
import { roundMoney } from '../batch/index.ts';
import { bankApi } from './api.ts';
import { bankRounds } from './commands.ts';
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
