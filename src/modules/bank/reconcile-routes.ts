import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { businessYear, formatDateTime } from '../../core/dates.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { parseId, requireId, validate } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import type { Web } from '../../core/web/web.ts';
import { clearYear, clearingFigures, clearingPdf, clearingsOf } from './clearing.ts';
import {
  DIFFERENCE_KINDS,
  type ReconciliationRow,
  differenceRef,
  differencesOf,
  enterConfirmedTotals,
  importConfirmation,
  listReconciliations,
  reconciliationFigures,
  reconciliationInScope,
  reconciliationPdf,
  reconciliationRounds,
  requiredParties,
  resolveDifference,
  signReconciliation,
  signaturesOf,
} from './reconcile.ts';
import { can, signingPartyOf } from './policy.ts';
import { confirmedTotalsSchema } from './schemas.ts';

/** Pages of the quarterly reconciliation with the agent bank and of the year-end clearing. */
export function reconcileRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read_reconciliations', null));
  const idParam = (ctx: Context, what: string) => requireId(ctx.params.id, what);

  router.get('/bank/reconciliations', async (ctx) => {
    const actor = await reader(ctx);
    web.render(ctx, 'bank/reconciliations.njk', {
      title: '季度对账',
      rows: (await listReconciliations(db, actor)).map((r) => ({ id: r.id, quarter: r.quarter, county: r.county_name, bank: r.bank_name, periodEnd: r.period_end, state: r.state === 'signed' ? `已签认（${formatDateTime(r.signed_at)}）` : r.confirmation_sha256 ? '银行已确认，核对中' : '待银行上传确认文件' })),
      canClear: can(actor, 'read_clearing', null).ok,
    });
  });

  async function page(ctx: Context, actor: Actor, id: number, extra: Record<string, unknown> = {}, status = 200) {
    const rec: ReconciliationRow = await reconciliationInScope(db, actor, id);
    const figures = await reconciliationFigures(db, rec);
    const diffs = await differencesOf(db, rec.id);
    const parties = await requiredParties(db, rec);
    const signed = await signaturesOf(db, rec.id);
    const version = Number((await db('bank_reconciliation').where({ id: rec.id }).first('version')).version);
    const signedBy = (p: { party: string; orgId: number | null }) => signed.find((s) => s.party === p.party && (s.org_id === null ? p.orgId === null : Number(s.org_id) === p.orgId));
    const openDiffs = diffs.filter((d: { state: string }) => d.state === 'open').length;
    const mine = signingPartyOf(actor, parties.filter((p) => !signedBy(p)));
    web.render(
      ctx,
      'bank/reconciliation.njk',
      {
        title: `季度对账 ${rec.quarter}：${rec.bank_name}`,
        rec: { id: rec.id, quarter: rec.quarter, county: rec.county_name, bank: rec.bank_name, periodEnd: rec.period_end, signed: rec.state === 'signed', sm3: rec.report_sm3, confirmation: rec.confirmation_name ? `${rec.confirmation_name}（${rec.confirmation_rows} 行，${formatDateTime(rec.confirmed_at)}）` : '' },
        rounds: figures.rounds.map((r) => {
          const b = figures.bankTotals?.get(r.id);
          return { id: r.id, title: r.title, policy: r.policy, lines: r.ledger.lines, transferred: formatYuan(r.ledger.transferredFen), paid: formatYuan(r.ledger.paidFen), pending: formatYuan(r.ledger.pendingFen), refunded: formatYuan(r.ledger.refundedFen), returned: formatYuan(r.ledger.returnedFen), awaiting: formatYuan(r.ledger.awaitingFen), bank: b ? `${formatYuan(b.paidFen)} / ${formatYuan(b.unpaidFen)} / ${formatYuan(b.refundedFen)}` : '—', balanced: r.ledger.balanced };
        }),
        policies: figures.policies.map((p) => ({ policy: p.policy, lines: p.ledger.lines, transferred: formatYuan(p.ledger.transferredFen), paid: formatYuan(p.ledger.paidFen), pending: formatYuan(p.ledger.pendingFen), refunded: formatYuan(p.ledger.refundedFen), returned: formatYuan(p.ledger.returnedFen), awaiting: formatYuan(p.ledger.awaitingFen) })),
        diffs: diffs.map((d: Record<string, unknown>) => ({ id: d.id, ref: differenceRef(d), kind: DIFFERENCE_KINDS[String(d.kind)], platform: d.platform, bank: d.bank, open: d.state === 'open', resolution: d.resolution, who: d.resolved_by_name })),
        openDiffs,
        parties: parties.map((p) => {
          const s = signedBy(p);
          return { label: p.label, signed: s ? `${s.signer_name}，${formatDateTime(s.signed_at)}` : '' };
        }),
        version,
        can: {
          upload: can(actor, 'confirm_reconciliation', rec).ok,
          resolve: can(actor, 'resolve_difference', rec).ok,
          sign: rec.state === 'open' && Boolean(mine) && Boolean(rec.confirmation_sha256) && openDiffs === 0,
        },
        signAs: mine?.label ?? '',
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
    if (!upload) return page(ctx, actor, id, { conflict: '请选择对账确认文件（.xlsx 或 .csv）' }, 422);
    try {
      const outcome = await importConfirmation(web.core, actor, id, upload);
      if (!outcome.ok) return page(ctx, actor, id, { refusal: await web.importRefusal(ctx, '对账确认文件', upload.name, outcome.errors, outcome.report) }, 422);
      const message = outcome.repeated ? '该确认文件已上传过，本次没有做任何更改' : `已导入确认文件 ${outcome.rows} 行：${outcome.differences ? `有 ${outcome.differences} 处差异待核实处理` : '与平台记录逐笔一致'}`;
      await web.redirectWith(ctx, `/bank/reconciliations/${id}`, { kind: outcome.repeated ? 'info' : 'success', message });
    } catch (err) {
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
    const diff = await db('bank_reconciliation_diff').where({ id: diffId }).first('reconciliation_id');
    if (!diff) throw new NotFoundError('对账差异不存在');
    const recId = Number(diff.reconciliation_id);
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

  const clearingReader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read_clearing', null));

  async function clearingPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const lastYear = businessYear() - 1;
    const yearParam = Number(ctx.query.year);
    const year = Number.isInteger(yearParam) && yearParam >= 2000 && yearParam <= lastYear ? yearParam : lastYear;
    const figures = await clearingFigures(db, actor.regionId, year);
    const done = await clearingsOf(db, actor.regionId);
    web.render(
      ctx,
      'bank/clearing.njk',
      {
        title: '年末清算',
        year,
        years: Array.from({ length: 5 }, (_, i) => lastYear - i),
        figures: figures.map((p) => ({ policy: p.policy, rounds: p.rounds, allocated: formatYuan(p.allocatedFen), transferred: formatYuan(p.firstTransferFen), paid: formatYuan(p.paidFen), pending: formatYuan(p.pendingFen), unspent: formatYuan(p.unspentFen), returned: formatYuan(p.returnedFen), awaiting: formatYuan(p.awaitingFen), cleared: formatYuan(p.clearedFen) })),
        cleared: done.find((c: { year: number }) => Number(c.year) === year),
        done: done.map((c: Record<string, unknown>) => ({ id: c.id, year: c.year, voucher: c.voucher_no, who: c.display_name, at: formatDateTime(String(c.cleared_at)), sm3: c.report_sm3 })),
        can: { clear: can(actor, 'clear_year', null).ok },
        values: {},
        ...extra,
      },
      status,
    );
  }

  router.get('/bank/clearing', async (ctx) => clearingPage(ctx, await clearingReader(ctx)));

  router.post('/bank/clearing', async (ctx) => {
    const actor = await clearingReader(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    await web.formStep(
      ctx,
      `/bank/clearing?year=${Number(body.year)}`,
      async () => `年末清算已办理，清算报告已生成（编号 ${await clearYear(web.core, actor, { year: Number(body.year), voucherNo: typeof body.voucherNo === 'string' ? body.voucherNo : '' })}）`,
      (extra, status) => clearingPage(ctx, actor, extra, status),
    );
  });

  router.get('/bank/clearing/:id/report.pdf', async (ctx) => {
    const report = await clearingPdf(db, await clearingReader(ctx), idParam(ctx, '清算报告'));
    web.sendFile(ctx, report.fileName, 'application/pdf', report.body);
  });
}
