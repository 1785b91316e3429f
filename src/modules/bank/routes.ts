import type Router from '@koa/router';
import type { Context } from 'koa';
import { formatDateTime } from '../../core/dates.ts';
import { NotFoundError } from '../../core/errors.ts';
import { parseId } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import type { Web } from '../../core/web/web.ts';
import { roundMoney } from '../batch/index.ts';
import { bankRounds, payoutFile } from './commands.ts';
import { PAYOUT_FORMATS } from './payout.ts';

/** The agent bank's pages: the rounds released to it and their payout files with checksums. */
export function bankRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const bankUser = (ctx: Context) => web.requireRole(ctx, ['bank'], '代发文件仅代发金融机构可以下载');

  router.get('/bank/payouts', async (ctx) => {
    const actor = await bankUser(ctx);
    const rounds = await bankRounds(web.core, { actor });
    web.render(ctx, 'bank/payouts.njk', {
      title: '代发文件',
      rounds: await Promise.all(
        rounds.map(async (r) => {
          const money = await roundMoney(db, r.id);
          return { id: r.id, title: r.title, period: r.period, lines: money.lines, total: formatYuan(money.linesFen), transferred: formatYuan(money.transferredFen), createdAt: formatDateTime(r.created_at) };
        }),
      ),
      formats: PAYOUT_FORMATS.map((f) => ({ code: f.code, label: f.label })),
    });
  });

  async function file(ctx: Context) {
    const actor = await bankUser(ctx);
    const roundId = parseId(ctx.params.id);
    if (roundId === null) throw new NotFoundError('发放批次不存在');
    return payoutFile(web.core, { actor }, roundId, String(ctx.params.format));
  }

  router.get('/bank/payouts/:id/:format', async (ctx) => {
    const payout = await file(ctx);
    ctx.set('X-Checksum-SM3', payout.sm3);
    web.sendFile(ctx, payout.fileName, payout.contentType, payout.body);
  });

  // The checksum file beside it, in the `sm3sum` layout: "<hex>  <file name>".
  router.get('/bank/payouts/:id/:format/sm3', async (ctx) => {
    const payout = await file(ctx);
    web.sendFile(ctx, `${payout.fileName}.sm3`, 'text/plain; charset=utf-8', Buffer.from(`${payout.sm3}  ${payout.fileName}\n`));
  });
}
