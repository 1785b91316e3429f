import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { parseId, requireId, validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { enterConfirmedTotals, importConfirmation, resolveDifference, signReconciliation } from './reconcile.ts';
import { SignatureRefusal, bankTermsToday } from './commands.ts';
import { can } from './policy.ts';
import {
  presentClearing,
  presentDifference,
  presentParty,
  presentPolicyFigures,
  presentReconciliation,
  presentReconciliationListRow,
  presentFileTerms,
  presentReconciliationOffers,
  presentReconciliationRound,
} from './presenters.ts';
import {
  clearingReportsFor,
  differenceById,
  differencesOf,
  listReconciliations,
  reconciliationFigures,
  reconciliationInScope,
  reconciliationPdf,
  reconciliationRounds,
  requiredParties,
  signatureOf,
  signaturesOf,
} from './queries.ts';
import { confirmedTotalsSchema } from './schemas.ts';

/** Pages of the quarterly reconciliation with the agent bank (the year-end clearing's are in clearing-routes.ts). */
export function reconcileRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read_reconciliations', null));
  const idParam = (ctx: Context, what: string) => requireId(ctx.params.id, what);

  router.get('/bank/reconciliations', async (ctx) => {
    const actor = await reader(ctx);
    web.render(ctx, 'bank/reconciliations.njk', {
      title: '季度对账',
      rows: (await listReconciliations(db, actor)).map(presentReconciliationListRow),
      canClear: can(actor, 'read_clearing', null).ok,
      clearingReports: (await clearingReportsFor(db, actor)).map(presentClearing),
    });
  });

  async function page(ctx: Context, actor: Actor, id: number, extra: Record<string, unknown> = {}, status = 200) {
    const rec = await reconciliationInScope(db, actor, id);
    const figures = await reconciliationFigures(db, rec);
    const diffs = await differencesOf(db, rec.id);
    const parties = await requiredParties(db, rec);
    const signed = await signaturesOf(db, rec.id);
    const openDiffs = diffs.filter((d) => d.state === 'open').length;
    web.render(
      ctx,
      'bank/reconciliation.njk',
      {
        title: `季度对账 ${rec.quarter}：${rec.bank_name}`,
        rec: presentReconciliation(rec),
        rounds: figures.rounds.map((r) => presentReconciliationRound(r, figures.bankTotals?.get(r.id), can(actor, 'read_round', r).ok)),
        policies: figures.policies.map(presentPolicyFigures),
        diffs: diffs.map(presentDifference),
        openDiffs,
        parties: parties.map((p) => presentParty(p, signatureOf(signed, p))),
        version: rec.version,
        fileTerms: presentFileTerms(await bankTermsToday(web.core, rec.bank_org_id, rec.county_id)),
        ...presentReconciliationOffers(actor, rec, parties, signed, openDiffs),
        values: {},
        ...extra,
      },
      status,
    );
  }

  router.get('/bank/reconciliations/:id', async (ctx) => page(ctx, await reader(ctx), idParam(ctx, '对账记录')));

  router.post('/bank/reconciliations/:id/confirmation', async (ctx) => {
    const actor = await reader(ctx);
    const id = idParam(ctx, '对账记录');
    const upload = uploadedFile(ctx);
    if (!upload) return page(ctx, actor, id, { uploadErrors: { file: '请选择对账确认文件（.xlsx 或 .csv）' } }, 422);
    try {
      const outcome = await importConfirmation(web.core, actor, id, upload, uploadedFile(ctx, 'signature')?.buffer ?? null);
      if (!outcome.ok) return page(ctx, actor, id, { refusal: await web.importRefusal(ctx, '对账确认文件', upload.name, outcome.errors, outcome.report) }, 422);
      const message = outcome.repeated ? '该确认文件已上传过，本次没有做任何更改' : `已导入确认文件 ${outcome.rows} 行：${outcome.differences ? `有 ${outcome.differences} 处差异待核实处理` : '与平台记录逐笔一致'}`;
      await web.redirectWith(ctx, `/bank/reconciliations/${id}`, { kind: outcome.repeated ? 'info' : 'success', message });
    } catch (err) {
      if (err instanceof SignatureRefusal) return page(ctx, actor, id, { uploadErrors: err.fieldErrors }, 422);
      if (!(err instanceof ConflictError)) throw err;
      await page(ctx, actor, id, { conflict: err.message }, 409);
    }
  });

  // The bank's confirmed totals of each round entered on the page (元), instead of the file of lines.
  router.post('/bank/reconciliations/:id/totals', async (ctx) => {
    const actor = await reader(ctx);
    const id = idParam(ctx, '对账记录');
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    await web.formStep(
      ctx,
      `/bank/reconciliations/${id}`,
      async () => {
        const rec = await reconciliationInScope(db, actor, id);
        const rounds = await reconciliationRounds(db, rec);
        const entered = validate(confirmedTotalsSchema(rounds), body);
        const totals = new Map(rounds.map((r) => [r.id, { paidFen: entered[`paid-${r.id}`]!, unpaidFen: entered[`unpaid-${r.id}`]!, refundedFen: entered[`refunded-${r.id}`]! }]));
        const outcome = await enterConfirmedTotals(web.core, actor, id, totals);
        return outcome.repeated ? { kind: 'info', message: '填报的合计与上次相同，没有做任何更改' } : `已登记各批次合计：${outcome.differences ? `有 ${outcome.differences} 处差异待核实处理` : '与平台记录一致'}`;
      },
      (extra, status) => page(ctx, actor, id, extra, status),
    );
  });

  router.post('/bank/reconciliations/:id/sign', async (ctx) => {
    const actor = await reader(ctx);
    const id = idParam(ctx, '对账记录');
    const version = parseId(String((ctx.request.body as Record<string, unknown>)?.version ?? ''));
    await web.formStep(
      ctx,
      `/bank/reconciliations/${id}`,
      async () => {
        if (version === null) throw new ConflictError('页面已过期，请刷新后再签认');
        return (await signReconciliation(web.core, actor, id, { version })) ? '各方均已签认，对账报告已生成' : '已签认，待其他各方签认';
      },
      (extra, status) => page(ctx, actor, id, extra, status),
    );
  });

  router.post('/bank/reconciliation-differences/:id/resolve', async (ctx) => {
    const actor = await reader(ctx);
    const diffId = idParam(ctx, '对账差异');
    const diff = await differenceById(db, diffId);
    if (!diff) throw new NotFoundError('对账差异不存在');
    const recId = diff.reconciliation_id;
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    await web.formStep(
      ctx,
      `/bank/reconciliations/${recId}`,
      async () => {
        await resolveDifference(web.core, actor, diffId, typeof body.resolution === 'string' ? body.resolution : '');
        return '已记录差异的处理';
      },
      (extra, status) => page(ctx, actor, recId, extra, status),
    );
  });

  router.get('/bank/reconciliations/:id/report.pdf', async (ctx) => {
    const report = await reconciliationPdf(db, await reader(ctx), idParam(ctx, '对账记录'));
    web.sendFile(ctx, report.fileName, 'application/pdf', report.body);
  });
}
