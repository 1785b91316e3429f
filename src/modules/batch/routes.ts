import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { businessDate, businessYear, formatDateTime } from '../../core/dates.ts';
import { NotFoundError } from '../../core/errors.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { parseId, requireId, validate } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import { recordAudit } from '../../core/audit.ts';
import { inTransaction } from '../../core/db.ts';
import { XLSX_TYPE } from '../../core/downloads.ts';
import { chosen, describeFilters, listWorkbook } from '../../core/lists.ts';
import { ImportRefused, type Web } from '../../core/web/web.ts';
import { listRegionFor, policyList, versionsById } from '../policy/index.ts';
import { agreementInForce, settlementAccountNumber } from '../agreement/index.ts';
import { addLine, checkRoster, createRound, recordObjection, removeLine, resolveFinding, resolveObjection, returnLines } from './commands.ts';
import { ROSTER_STATES, ROUND_STATES } from './model.ts';
import { can } from './policy.ts';
import { presentHistory, presentLine, presentRosterPermissions, presentRound, presentRoundListRow, presentRoundPermissions, presentRoster, presentRosterSummary, presentWaitingRoster, rosterErrorSummary } from './presenters.ts';
import { history, objectionsOf, returnedLines, rosterFindings, rostersAwaiting, rosterLines, roundBudget, roundFilterChoices, roundList, type RoundListRow, roundRosters, roundsQuery, roundTransfers, villageTotals } from './queries.ts';
import { recordPaymentPlan, recordTransfer, releaseRound, returnRound, roundMoney, submitRound } from './round-workflow.ts';
import { roundInScope, rosterInScope } from './repo.ts';
import { rosterFile } from './roster-files.ts';
import { ROSTER_MAPPING, importRosterFile, prefillRoster } from './roster-import.ts';
import { columnMappingOffer } from '../../core/column-mapping.ts';
import { actSchema, lineAddSchema, lineRemoveSchema, linesQuerySchema, objectionResolveSchema, objectionSchema, paymentPlanSchema, releaseSchema, resolveSchema, returnLinesSchema, roundCreateSchema, roundReturnSchema, roundSubmitSchema, transferSchema, waitingQuerySchema } from './schemas.ts';
import { actOnRoster } from './workflow.ts';

const PAGE_SIZE = 50;

/** The batch pages: rounds, a round's rosters, a roster's lines with findings and the steps the actor may take. */
export function batchRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read', null));
  const idParam = (ctx: Context, name: string, what: string) => requireId(ctx.params[name], what);

  async function roundsPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const canCreate = can(actor, 'create_round', null).ok;
    const year = businessYear();
    const versions = canCreate ? await policyList(db, await listRegionFor(db, actor.regionId), year, { publicOnly: false }) : [];
    const policies = versions.map((v) => ({ value: v.itemId, label: `${v.code} ${v.name}（${v.unit}，${v.frequency === 'monthly' ? '按月' : v.frequency === 'quarterly' ? '按季' : '按年'}${v.meansTested ? '，救助类' : ''}${v.emergencyRelief ? '，突发灾害应急救助' : ''}）` }));
    // 应急救助（事后公示）is offered only with the policies it may be chosen for (policy.ts create_expedited_round).
    const expeditable = versions.filter((v) => can(actor, 'create_expedited_round', { emergencyRelief: v.emergencyRelief }).ok).map((v) => `${v.code} ${v.name}`);
    const query = roundList.parse(ctx.query);
    const { rows, total } = await roundList.page<RoundListRow>(roundsQuery(db, actor, query.filters), query);
    web.render(
      ctx,
      'batch/rounds.njk',
      { title: '发放批次', rounds: rows.map(presentRoundListRow), links: roundList.links(query, total), filter: query.filters, choices: await roundChoices(actor), canCreate, policies, expeditable, values: { period: String(year) }, ...extra },
      status,
    );
  }

  /** The choices of the list's filters: policies and departments of the rounds the actor sees, and the states. */
  async function roundChoices(actor: Actor) {
    return { ...(await roundFilterChoices(db, actor)), states: Object.entries(ROUND_STATES).map(([value, label]) => ({ value, label })) };
  }

  router.get('/rounds', async (ctx) => roundsPage(ctx, await reader(ctx)));

  // What the list's filter selects, every page of it (registered before /rounds/:id so that the fixed path wins).
  router.get('/rounds/export.xlsx', async (ctx) => {
    const actor = await reader(ctx);
    const query = roundList.parse(ctx.query);
    const rows = (await roundList.all<RoundListRow>(roundsQuery(db, actor, query.filters), query)).map(presentRoundListRow);
    const choices = await roundChoices(actor);
    const { policy, period, state, department } = query.filters;
    const file = await listWorkbook(
      {
        title: '发放批次',
        filter: describeFilters([['补贴项目', chosen(choices.policies, policy)], ['期间', period], ['状态', chosen(choices.states, state)], ['主管部门', chosen(choices.departments, department)]]),
        sort: roundList.describeSort(query),
        by: actor.displayName,
      },
      [
        { header: '批次名称', width: 40, value: (r) => r.title },
        { header: '期间', width: 10, value: (r) => r.period },
        { header: '发放方式', width: 16, value: (r) => r.payee },
        { header: '救助类', width: 8, value: (r) => (r.meansTested ? '是' : '否') },
        { header: '应急救助（事后公示）', width: 12, value: (r) => (r.expedited ? '是' : '否') },
        { header: '主管部门', width: 16, value: (r) => r.department },
        { header: '状态', width: 12, value: (r) => r.state },
        { header: '总金额（元）', width: 18, value: (r) => r.total },
        { header: '建立时间', width: 18, value: (r) => r.createdAt },
        { header: '更新时间', width: 18, value: (r) => r.updatedAt },
      ],
      rows,
    );
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'batch.rounds.export', summary: file.summary }));
    web.sendFile(ctx, file.fileName, XLSX_TYPE, file.body);
  });

  router.post('/rounds', async (ctx) => {
    const actor = web.actor(ctx);
    await web.formStep(
      ctx,
      '/rounds',
      async () => ({ message: '发放批次已建立，各乡镇清册待经办站所编制', to: `/rounds/${await createRound(web.core, actor, validate(roundCreateSchema, ctx.request.body))}` }),
      (extra, status) => roundsPage(ctx, actor, extra, status),
    );
  });

  async function roundPage(ctx: Context, actor: Actor, roundId: number, extra: Record<string, unknown> = {}, status = 200) {
    const round = await roundInScope(db, actor, roundId);
    const [version] = await versionsById(db, [round.policy_version_id]);
    const budget = await roundBudget(db, round);
    const money = await roundMoney(db, round.id);
    const inScope = (await roundRosters(db, round.id)).filter((s) => s.township_path.startsWith(actor.regionPath) || actor.regionPath.startsWith(s.township_path));
    const banks = (await db('core_org').where({ kind: 'bank', region_id: round.county_id }).orderBy('id').select('id', 'name')).map((b: { id: number; name: string }) => ({ value: b.id, label: b.name }));
    web.render(
      ctx,
      'batch/round.njk',
      {
        title: round.title,
        round: { ...presentRound(round), version: round.version, bank: banks.find((b: { value: number }) => b.value === round.bank_org_id)?.label ?? '' },
        standards: version!.tiers.map((t) => `${t.name} ${formatYuan(t.standardFen)} 元/${round.unit}`).join('；'),
        budget: { allocated: formatYuan(budget.allocatedFen), round: formatYuan(budget.roundFen), others: formatYuan(budget.otherRoundsFen), over: budget.roundFen + budget.otherRoundsFen > budget.allocatedFen },
        money: { lines: money.lines, total: formatYuan(money.linesFen), transferred: formatYuan(money.transferredFen) },
        paymentPlan: round.payment_plan_no === null ? null : { no: round.payment_plan_no, amount: formatYuan(round.payment_plan_fen ?? 0), date: round.payment_plan_date ?? '', short: (round.payment_plan_fen ?? 0) < money.linesFen },
        transfers: (await roundTransfers(db, round.id)).map((tr) => ({ amount: formatYuan(tr.amount_fen), voucher: tr.voucher_no, bank: tr.bank_name, account: tr.destination_account, who: tr.recorded_by_name, at: formatDateTime(tr.recorded_at) })),
        rosters: inScope.map((s) => presentRosterSummary(s, round)),
        history: presentHistory((await history(db, { round_id: round.id })).filter((h) => h.roster_id === null)),
        can: presentRoundPermissions(actor, round),
        banks,
        values: {
          amount: formatYuan(money.linesFen).replace(/,/g, ''),
          bankOrgId: round.bank_org_id ?? '',
          destinationAccount: await settlementAccount(round),
          planNo: round.payment_plan_no ?? '',
          planAmount: round.payment_plan_fen === null ? '' : formatYuan(round.payment_plan_fen).replace(/,/g, ''),
          planDate: round.payment_plan_date ?? '',
        },
        ...extra,
      },
      status,
    );
  }

  /** The settlement account of the round's bank in its agreement, in full, to pre-fill the treasury's transfer (the one form that shows it). */
  async function settlementAccount(round: { county_id: number; bank_org_id: number | null }): Promise<string> {
    if (round.bank_org_id === null) return '';
    const agreement = await agreementInForce(db, { countyId: round.county_id, bankOrgId: round.bank_org_id, on: businessDate(), townshipIds: [] });
    return typeof agreement === 'string' ? '' : settlementAccountNumber(web.core.crypto, agreement);
  }

  router.get('/rounds/:id', async (ctx) => roundPage(ctx, await reader(ctx), idParam(ctx, 'id', '发放批次')));

  /** A round step from its page: refusals (state, findings, amounts) are shown on the round page. */
  async function onRound(ctx: Context, run: (actor: Actor, roundId: number) => Promise<string>) {
    const actor = web.actor(ctx);
    const roundId = idParam(ctx, 'id', '发放批次');
    await web.formStep(ctx, `/rounds/${roundId}`, () => run(actor, roundId), (extra, status) => roundPage(ctx, actor, roundId, extra, status));
  }

  router.post('/rounds/:id/payment-plan', (ctx) =>
    onRound(ctx, async (actor, roundId) => {
      const { planAmount, ...input } = validate(paymentPlanSchema, ctx.request.body);
      await recordPaymentPlan(web.core, actor, roundId, { ...input, planFen: planAmount });
      return `已录入用款计划 ${input.planNo}`;
    }),
  );

  router.post('/rounds/:id/submit', (ctx) =>
    onRound(ctx, async (actor, roundId) => {
      await submitRound(web.core, actor, roundId, validate(roundSubmitSchema, ctx.request.body).version);
      return '已汇总上报财政局业务科室';
    }),
  );

  router.post('/rounds/:id/return', (ctx) =>
    onRound(ctx, async (actor, roundId) => {
      const input = validate(roundReturnSchema, ctx.request.body);
      await returnRound(web.core, actor, roundId, input.version, input.reason);
      return '已退回主管部门';
    }),
  );

  router.post('/rounds/:id/release', (ctx) =>
    onRound(ctx, async (actor, roundId) => {
      await releaseRound(web.core, actor, roundId, validate(releaseSchema, ctx.request.body));
      return '程序性复核通过，发放数据已下达代发金融机构';
    }),
  );

  router.post('/rounds/:id/transfer', (ctx) =>
    onRound(ctx, async (actor, roundId) => {
      const { amount, ...input } = validate(transferSchema, ctx.request.body);
      await recordTransfer(web.core, actor, roundId, { ...input, amountFen: amount });
      return `已登记拨付 ${formatYuan(amount)} 元`;
    }),
  );

  async function rosterPage(ctx: Context, actor: Actor, rosterId: number, extra: Record<string, unknown> = {}, status = 200) {
    const { roster, round } = await rosterInScope(db, actor, rosterId);
    const query = validate(linesQuerySchema, ctx.query);
    // The page's reads are independent of one another: issued together, so that their round trips overlap (on
    // PostgreSQL each is a round trip to the server; on SQLite they share the pool's read connections).
    const villagesRead = villageTotals(db, roster.id);
    const [{ rows, total }, villages, findings, [version], historyRows, objections, returned, panels] = await Promise.all([
      rosterLines(db, roster.id, { villageId: query.villageId, finding: query.finding, page: query.page, pageSize: PAGE_SIZE, total: villagesRead.then((vs) => vs.reduce((n, v) => n + Number(v.lines), 0)) }),
      villagesRead,
      rosterFindings(db, roster.id),
      versionsById(db, [round.policy_version_id]),
      history(db, { roster_id: roster.id }),
      objectionsOf(db, roster.id),
      returnedLines(db, roster.id),
      web.panels('roster', actor, roster.id),
    ]);
    const permissions = presentRosterPermissions(actor, round, roster, findings);
    web.render(
      ctx,
      'batch/roster.njk',
      {
        title: `${round.title}（${roster.township_name}）`,
        round: presentRound(round),
        roster: presentRoster(roster, round),
        lines: rows.map(presentLine),
        total,
        page: query.page,
        pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
        query: new URLSearchParams({ villageId: String(query.villageId ?? ''), finding: query.finding ?? '' }).toString(),
        filter: { villageId: query.villageId ?? '', finding: query.finding ?? '' },
        villages: villages.map((v) => ({ value: v.village_id, label: v.village_name, lines: v.lines, total: formatYuan(v.total_fen) })),
        rosterTotal: { lines: villages.reduce((n, v) => n + v.lines, 0), total: formatYuan(villages.reduce((n, v) => n + v.total_fen, 0)) },
        findings,
        ...permissions,
        errorSummary: rosterErrorSummary(extra, permissions),
        tiers: version!.tiers.map((t) => ({ value: t.name, label: `${t.name}（${formatYuan(t.standardFen)} 元/${round.unit}）` })),
        history: presentHistory(historyRows),
        objections: objections.map((o) => ({ id: o.id, line: o.person_name ?? '整份清册', raisedOn: o.raised_on, content: o.public_ref ? `${o.content}（群众网上提出，受理编号 ${o.public_ref}）` : o.content, resolution: o.resolution ?? '', resolved: o.resolved_at !== null })),
        returned: returned.map((l) => ({ name: l.person_name, idMasked: l.id_masked, amount: formatYuan(l.amount_fen), reason: l.return_reason ?? '' })),
        states: ROSTER_STATES,
        panels,
        ...extra,
      },
      status,
    );
  }

  // The rosters waiting for this actor (a to-do line of the home page): only those where a step is theirs now.
  router.get('/rosters', async (ctx) => {
    const actor = await reader(ctx);
    const { states } = validate(waitingQuerySchema, ctx.query);
    web.render(ctx, 'batch/waiting.njk', { title: '待您办理的清册', rows: (await rostersAwaiting(db, actor, states)).map((w) => presentWaitingRoster(actor, w)) });
  });

  router.get('/rosters/:id', async (ctx) => rosterPage(ctx, await reader(ctx), idParam(ctx, 'id', '清册')));

  // The whole roster to print or save, for whoever may read its page.
  for (const format of ['pdf', 'xlsx'] as const) {
    router.get(`/rosters/:id/roster.${format}`, async (ctx) => {
      const file = await rosterFile(web.core, await reader(ctx), idParam(ctx, 'id', '清册'), format);
      web.sendFile(ctx, file.fileName, file.contentType, file.body);
    });
  }

  /** Run a command that may fail on the form; a ValidationError re-renders the roster page with it. */
  async function onRoster(ctx: Context, run: (actor: Actor, rosterId: number) => Promise<string>, errorsKey: string) {
    const actor = web.actor(ctx);
    const rosterId = idParam(ctx, 'id', '清册');
    // A step refused because of the roster's state or its findings is shown on the roster itself; field errors go
    // to the form that was posted, with everything typed kept (a staff screen: the ID number too).
    await web.formStep(ctx, `/rosters/${rosterId}`, () => run(actor, rosterId), (extra, status) =>
      rosterPage(ctx, actor, rosterId, 'errors' in extra ? { [errorsKey]: extra.errors, values: ctx.request.body, actAction: (ctx.request.body as Record<string, unknown>).action, lineId: parseId(ctx.params.lid) } : extra, status),
    );
  }

  router.post('/rosters/:id/lines', (ctx) =>
    onRoster(ctx, async (actor, rosterId) => {
      await addLine(web.core, actor, rosterId, validate(lineAddSchema, ctx.request.body));
      return '已加入清册；请重新复核比对';
    }, 'lineErrors'),
  );

  router.post('/rosters/:id/lines/:lid/remove', (ctx) =>
    onRoster(ctx, async (actor) => {
      await removeLine(web.core, actor, idParam(ctx, 'lid', '发放明细'), validate(lineRemoveSchema, ctx.request.body).reason);
      return '已从清册删除';
    }, 'removeErrors'),
  );

  router.post('/rosters/:id/prefill', (ctx) =>
    onRoster(ctx, async (actor, rosterId) => {
      const outcome = await prefillRoster(web.core, actor, rosterId);
      return `已参照“${outcome.from}”加入 ${outcome.added} 人；${outcome.skipped} 人已不在本乡镇档案或已在清册中，未加入`;
    }, 'prefillErrors'),
  );

  router.post('/rosters/:id/check', (ctx) =>
    onRoster(ctx, async (actor, rosterId) => {
      const s = await checkRoster(web.core, actor, rosterId);
      return `复核比对完成：阻断性问题 ${s.blocking} 个，待说明的提示 ${s.warnings} 个，已说明 ${s.resolved} 个`;
    }, 'checkErrors'),
  );

  router.post('/rosters/:id/act', (ctx) =>
    onRoster(ctx, async (actor, rosterId) => {
      const input = validate(actSchema, ctx.request.body);
      const to = await actOnRoster(web.core, actor, rosterId, input.action, input);
      return `清册现为“${ROSTER_STATES[to]}”`;
    }, 'actErrors'),
  );

  router.post('/rosters/:id/objections', (ctx) =>
    onRoster(ctx, async (actor, rosterId) => {
      await recordObjection(web.core, actor, rosterId, validate(objectionSchema, ctx.request.body));
      return '已登记公示异议，待财政所核实处理';
    }, 'objectionErrors'),
  );

  router.post('/rosters/:id/objections/:oid/resolve', (ctx) =>
    onRoster(ctx, async (actor) => {
      await resolveObjection(web.core, actor, idParam(ctx, 'oid', '异议'), validate(objectionResolveSchema, ctx.request.body).resolution);
      return '已记录异议处理结果';
    }, 'objectionErrors'),
  );

  router.post('/rosters/:id/return-lines', (ctx) =>
    onRoster(ctx, async (actor, rosterId) => {
      const input = validate(returnLinesSchema, ctx.request.body);
      const n = await returnLines(web.core, actor, rosterId, input.lineIds, input.reason);
      return `已退回 ${n} 行`;
    }, 'returnErrors'),
  );

  router.post('/rosters/:id/import', async (ctx) => {
    const actor = web.actor(ctx);
    const rosterId = idParam(ctx, 'id', '清册');
    const file = uploadedFile(ctx);
    await web.formStep(
      ctx,
      `/rosters/${rosterId}`,
      async () => {
        const outcome = await importRosterFile(web.core, actor, rosterId, file);
        if (!outcome.ok) throw new ImportRefused({ refusal: await web.importRefusal(ctx, '清册导入', file!.name, outcome.errors, outcome.report), mapping: columnMappingOffer(ROSTER_MAPPING, actor, outcome.gap ?? null, `/rosters/${rosterId}`) });
        const message = outcome.repeated ? '该文件已导入过，本次没有做任何更改' : `导入完成：新增 ${outcome.added} 行，修改 ${outcome.updated} 行，未变化 ${outcome.unchanged} 行；请复核比对`;
        return { kind: outcome.repeated ? 'info' : 'success', message };
      },
      (extra, status) => rosterPage(ctx, actor, rosterId, 'errors' in extra ? { importError: (extra.errors as Record<string, string>).file } : extra, status),
    );
  });

  router.post('/findings/:id/resolve', async (ctx) => {
    const actor = web.actor(ctx);
    const findingId = idParam(ctx, 'id', '比对结果');
    const finding = (await db('batch_finding').where({ id: findingId }).first('roster_id')) as { roster_id: number } | undefined;
    if (!finding) throw new NotFoundError('比对结果不存在');
    const rosterId = finding.roster_id;
    await web.formStep(
      ctx,
      `/rosters/${rosterId}`,
      async () => {
        await resolveFinding(web.core, actor, findingId, validate(resolveSchema, ctx.request.body).reason);
        return '已记录核实说明';
      },
      (extra, status) => rosterPage(ctx, actor, rosterId, 'errors' in extra ? { resolveErrors: extra.errors, findingId, values: extra.values } : extra, status),
    );
  });
}
