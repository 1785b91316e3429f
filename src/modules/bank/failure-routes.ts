import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { businessDate, formatDateTime } from '../../core/dates.ts';
import { recordAudit } from '../../core/audit.ts';
import { inTransaction } from '../../core/db.ts';
import { XLSX_TYPE } from '../../core/downloads.ts';
import { chosen, describeFilters, listWorkbook } from '../../core/lists.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import { formatYuan } from '../../core/money.ts';
import { listRegionsInScope, publicCounty } from '../../core/regions.ts';
import { ImportRefused, type StepOutcome, type Web } from '../../core/web/web.ts';
import { type RoundRow, lineFacts } from '../batch/index.ts';
import { uploadReceipt } from './cards.ts';
import { FAILURE_STATES, type FailureState, MAX_ATTEMPTS, RETURN_GROUNDS } from './model.ts';
import { CORRECTION_COLUMNS, correctableCases, correctionTemplate, importCorrections } from './correction-import.ts';
import { approveCorrections, approveReissue, compileReissue, correctFailure, decideReturn, recordRefund, recordRetransfer, recordTreasuryReturn, requestReissue, sendBackFailure, verifyFailure } from './failures.ts';
import {
  type FailureView,
  bankRoundInScope,
  caseDeadlines,
  caseSupplement,
  correctionFilesOf,
  countsByState,
  failureEvents,
  failureInScope,
  failureList,
  failureListQuery,
  failureRounds,
  failuresQuery,
  orgNames,
  receiptFile,
  receiptsOf,
  refundsOf,
  returnedCases,
  supplementsOf,
  treasuryReturnsOf,
} from './queries.ts';
import { roundLedger } from './ledger.ts';
import { PAYOUT_FORMATS } from './payout.ts';
import {
  presentBankRoundPermissions,
  presentCase,
  presentCaseClock,
  presentCasePermissions,
  presentDeadline,
  presentFailedListRow,
  presentFailureEvent,
  presentLedger,
  presentReceipt,
  presentSupplement,
  presentVoucher,
} from './presenters.ts';
import { can } from './policy.ts';
import { approveCorrectionsSchema, correctSchema, countyQuerySchema, decideReturnSchema, reissueRequestSchema, sendBackSchema, caseStepSchema, receiptSchema, refundSchema, retransferSchema, treasuryReturnSchema } from './schemas.ts';
import { publicMaskRule } from '../../core/public-mask.ts';
import { publicFailedPayments } from './public-lists.ts';


/**
 * Pages of the failed payments (发放失败处理): the list in the actor's scope, one case with its history and the step
 * the actor may take, a round's after-payment page (the ledger, supplementary payouts, refunds, returns), and the
 * list of people whose money went back to the treasury (发放失败人员名单), printable for the village notice board.
 */
export function failureRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read_failures', null));
  const idParam = (ctx: Context, what: string) => requireId(ctx.params.id, what);

  const stateChoices = (Object.entries(FAILURE_STATES) as [FailureState, string][]).map(([value, label]) => ({ value, label }));

  /** The choices of the list's filters: the townships of the actor's scope, the rounds with cases in it. */
  async function failureChoices(actor: Actor) {
    const townships = (await listRegionsInScope(db, actor)).filter((r) => r.level === 'township').sort((a, b) => a.id - b.id).map((r) => ({ value: r.id, label: r.name }));
    return { townships, rounds: (await failureRounds(db, actor)).map((r) => ({ value: r.round_id, label: r.round_title })) };
  }

  router.get('/bank/failures', async (ctx) => {
    const actor = await reader(ctx);
    const query = failureList.parse(ctx.query);
    const { rows, total } = await failureList.page<FailureView>(failureListQuery(db, actor, query.filters), query);
    // Each state's tab counts the cases the other filters select.
    const counts = await countsByState(failureListQuery(db, actor, { ...query.filters, state: null }));
    web.render(ctx, 'bank/failures.njk', {
      title: '发放失败处理',
      state: query.filters.state,
      allHref: failureList.filterHref(query, { state: null }),
      canImport: can(actor, 'import_corrections', null).ok,
      tabs: stateChoices.map(({ value, label }) => ({ code: value, label, count: counts.get(value)?.count ?? 0, href: failureList.filterHref(query, { state: value }) })),
      rows: rows.map(presentCase),
      links: failureList.links(query, total),
      filter: query.filters,
      choices: await failureChoices(actor),
    });
  });

  // What the list's filter selects, every page of it (registered before /bank/failures/:id so that the fixed path wins).
  router.get('/bank/failures/export.xlsx', async (ctx) => {
    const actor = await reader(ctx);
    const query = failureList.parse(ctx.query);
    const rows = (await failureList.all<FailureView>(failureListQuery(db, actor, query.filters), query)).map(presentCase);
    const choices = await failureChoices(actor);
    const { state, township, round, overdue } = query.filters;
    const file = await listWorkbook(
      {
        title: '发放失败处理',
        filter: describeFilters([['状态', chosen(stateChoices, state)], ['乡镇', chosen(choices.townships, township)], ['发放批次', chosen(choices.rounds, round)], ['时限', overdue && '仅逾期未办']]),
        sort: failureList.describeSort(query),
        by: actor.displayName,
      },
      [
        { header: '发放批次', width: 36, value: (f) => f.round },
        { header: '乡镇', width: 12, value: (f) => f.township },
        { header: '村（社区）', width: 12, value: (f) => f.village },
        { header: '收款人', width: 10, value: (f) => f.name },
        { header: '身份证号码（脱敏）', width: 22, value: (f) => f.idMasked },
        { header: '金额（元）', width: 14, value: (f) => f.amount },
        { header: '失败原因', width: 30, value: (f) => f.failure },
        { header: '第几次发放', width: 10, value: (f) => f.attempt },
        { header: '状态', width: 28, value: (f) => f.state },
        { header: '资金', width: 14, value: (f) => f.funds },
        { header: '修正后的发放账户', width: 16, value: (f) => f.account },
        { header: '登记时间', width: 18, value: (f) => f.openedAt },
      ],
      rows,
    );
    await inTransaction(db, (trx) => recordAudit(trx, actor, { action: 'bank.failures.export', summary: file.summary }));
    web.sendFile(ctx, file.fileName, XLSX_TYPE, file.body);
  });

  // The township finance office's file of corrected lines (Haicheng 三 2), registered before /bank/failures/:id.
  const importer = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'import_corrections', null));

  async function correctionsPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    web.render(
      ctx,
      'bank/failure-corrections.njk',
      {
        title: '导入修正信息',
        columns: CORRECTION_COLUMNS,
        cases: (await correctableCases(db, actor)).map(presentCase),
        imports: (await correctionFilesOf(db, actor.regionId)).map((i) => ({ fileName: i.file_name, lines: i.lines, at: formatDateTime(i.uploaded_at), by: i.display_name ?? '' })),
        ...extra,
      },
      status,
    );
  }

  router.get('/bank/failures/corrections', async (ctx) => correctionsPage(ctx, await importer(ctx)));

  router.get('/bank/failures/corrections/template.csv', async (ctx) => {
    const actor = await importer(ctx);
    web.sendFile(ctx, '发放失败修正信息导入模板.csv', 'text/csv; charset=utf-8', await correctionTemplate(db, actor));
  });

  router.post('/bank/failures/corrections', async (ctx) => {
    const actor = await importer(ctx);
    const file = uploadedFile(ctx);
    await web.formStep(
      ctx,
      '/bank/failures/corrections',
      async () => {
        if (!file) throw new ValidationError({ file: '请选择修正信息文件（.xlsx 或 .csv）' });
        const outcome = await importCorrections(web.core, actor, file);
        if (!outcome.ok) throw new ImportRefused({ refusal: await web.importRefusal(ctx, '修正信息导入', file.name, outcome.errors, outcome.report) });
        const message = outcome.repeated ? '该文件已导入过，本次没有做任何更改' : `修正信息已导入：${outcome.lines} 笔，待主管部门核实`;
        return { kind: outcome.repeated ? 'info' : 'success', message };
      },
      (extra, status) => correctionsPage(ctx, actor, 'errors' in extra ? { fileError: (extra.errors as Record<string, string>).file } : extra, status),
    );
  });

  async function casePage(ctx: Context, actor: Actor, failureId: number, extra: Record<string, unknown> = {}, status = 200) {
    const f = await failureInScope(db, actor, failureId);
    const deadlines = await caseDeadlines(db, f);
    web.render(
      ctx,
      'bank/failure.njk',
      {
        title: `发放失败处理：${f.person_name}`,
        f: presentCase(f),
        events: (await failureEvents(db, f.id)).map(presentFailureEvent),
        deadlines: deadlines.map(presentDeadline),
        clock: presentCaseClock(f, deadlines, await caseSupplement(db, f), businessDate()),
        returnGrounds: Object.entries(RETURN_GROUNDS).map(([value, g]) => ({ value, label: g.label, evidence: g.evidence })),
        can: presentCasePermissions(actor, f),
        reissueLine: f.reissue_line_id ? (await lineFacts(db, [f.reissue_line_id]))[0] : null,
        lastAttempt: f.attempt >= MAX_ATTEMPTS,
        values: {},
        ...extra,
      },
      status,
    );
  }

  router.get('/bank/failures/:id', async (ctx) => casePage(ctx, await reader(ctx), idParam(ctx, '失败处理记录')));

  /** A step on one case: refusals are shown on its page, with what was typed. */
  function onCase(path: string, run: (actor: Actor, failureId: number, body: Record<string, unknown>) => Promise<string>) {
    router.post(`/bank/failures/:id/${path}`, async (ctx) => {
      const actor = await reader(ctx);
      const failureId = idParam(ctx, '失败处理记录');
      const body = (ctx.request.body ?? {}) as Record<string, unknown>;
      await web.formStep(ctx, `/bank/failures/${failureId}`, () => run(actor, failureId, body), (extra, status) => casePage(ctx, actor, failureId, extra, status));
    });
  }
  onCase('correct', async (actor, id, body) => {
    await correctFailure(web.core, actor, id, validate(correctSchema, body));
    return '已提交修正信息，待主管部门核实';
  });
  onCase('verify', async (actor, id, body) => {
    await verifyFailure(web.core, actor, id, validate(caseStepSchema, body));
    return '已核实，待财政局业务科室再次复核';
  });
  onCase('send-back', async (actor, id, body) => {
    await sendBackFailure(web.core, actor, id, validate(sendBackSchema, body));
    return '已退回乡镇重新核实修正';
  });
  onCase('request-reissue', async (actor, id, body) => {
    await requestReissue(web.core, actor, id, validate(reissueRequestSchema, body));
    return '已受理补发申请，待主管部门核实';
  });
  onCase('approve-reissue', async (actor, id, body) => {
    await approveReissue(web.core, actor, id, validate(caseStepSchema, body));
    return '已批准补发，待主管部门编入补发批次';
  });
  onCase('decide-return', async (actor, id, body) => {
    await decideReturn(web.core, actor, id, validate(decideReturnSchema, body));
    return '已决定提前缴回（收款人已不符合条件），待国库科登记缴回财政';
  });

  async function roundPage(ctx: Context, actor: Actor, roundId: number, extra: Record<string, unknown> = {}, status = 200) {
    const round = await visibleRound(actor, roundId);
    const cases = ((await failuresQuery(db, actor).where('f.round_id', roundId).orderBy('f.id')) as FailureView[]).map(presentCase);
    const ledger = await roundLedger(db, roundId);
    const supplements = await supplementsOf(db, roundId, { fetchableOnly: can(actor, 'bank_files', null).ok });
    const inState = (state: FailureState) => cases.filter((c) => c.stateCode === state);
    const sumOf = (list: { amountFen: number }[]) => formatYuan(list.reduce((s, c) => s + c.amountFen, 0));
    web.render(
      ctx,
      'bank/round.njk',
      {
        title: `发放结果与资金台账：${round.title}`,
        roundId,
        roundTitle: round.title,
        ledger: presentLedger(ledger),
        supplements: supplements.map(presentSupplement),
        formats: PAYOUT_FORMATS.map((f) => ({ code: f.code, label: f.label })),
        reviewing: inState('reviewing'),
        refundDue: inState('refund_due'),
        returnDue: inState('return_due'),
        reissueApproved: inState('reissue_approved'),
        refundDueTotal: sumOf(inState('refund_due')),
        returnDueTotal: sumOf(inState('return_due')),
        cases,
        refunds: (await refundsOf(db, roundId)).map((r) => presentVoucher(r, r.refunded_on)),
        returns: (await treasuryReturnsOf(db, roundId)).map((r) => presentVoucher(r, r.returned_on)),
        can: presentBankRoundPermissions(actor, round, { reissueApproved: inState('reissue_approved').length }),
        receipts: (await receiptsOf(db, roundId)).map(presentReceipt),
        today: businessDate(),
        values: {},
        ...extra,
      },
      status,
    );
  }

  /** A round released to a bank, in the actor's scope (a bank user: released to its bank). */
  async function visibleRound(actor: Actor, roundId: number): Promise<RoundRow> {
    const round = await bankRoundInScope(db, actor, roundId);
    if (round.state !== 'released' && round.state !== 'transferred') throw new NotFoundError('该发放批次尚未下达代发金融机构');
    return round;
  }

  router.get('/bank/rounds/:id', async (ctx) => roundPage(ctx, await reader(ctx), idParam(ctx, '发放批次')));

  /** A step on a round's page (the ledger, supplements, refunds, returns, reissues, receipts): refusals shown there. */
  function onRound(path: string, run: (actor: Actor, roundId: number, body: Record<string, unknown>, ctx: Context) => Promise<StepOutcome>) {
    router.post(`/bank/rounds/:id/${path}`, async (ctx) => {
      const actor = await reader(ctx);
      const roundId = idParam(ctx, '发放批次');
      await visibleRound(actor, roundId);
      const body = (ctx.request.body ?? {}) as Record<string, unknown>;
      await web.formStep(ctx, `/bank/rounds/${roundId}`, () => run(actor, roundId, body, ctx), (extra, status) => roundPage(ctx, actor, roundId, extra, status));
    });
  }
  onRound('approve', async (actor, roundId, body) => {
    const { supplements } = await approveCorrections(web.core, actor, roundId, validate(approveCorrectionsSchema, body).failureIds);
    return `复核通过，已生成 ${supplements.length} 个补充代发文件`;
  });
  onRound('compile-reissue', async (actor, roundId) => ({
    message: '补发批次已建立：请乡镇经办站所将清册送复核比对，按正常流程审核、公示和下达',
    to: `/rounds/${await compileReissue(web.core, actor, roundId)}`,
  }));
  onRound('refund', async (actor, roundId, body) => {
    const { amount, ...input } = validate(refundSchema, body);
    await recordRefund(web.core, actor, roundId, { ...input, amountFen: amount });
    return '已登记资金退回原账户';
  });
  onRound('treasury-return', async (actor, roundId, body) => {
    const { amount, ...input } = validate(treasuryReturnSchema, body);
    await recordTreasuryReturn(web.core, actor, roundId, { ...input, amountFen: amount });
    return '已登记暂缴回财政，相关人员列入发放失败人员名单';
  });
  onRound('retransfer', async (actor, roundId, body) => {
    const { supplementId, amount, ...input } = validate(retransferSchema, body);
    await recordRetransfer(web.core, actor, roundId, supplementId, { ...input, amountFen: amount });
    return '已登记再次拨付，代发银行可以下载该补充代发文件';
  });

  // The bank's completion receipt (发放完成回执单) of a round: uploaded by the bank, seen by everyone who sees the round.
  onRound('receipts', async (actor, roundId, body, ctx) => {
    const upload = uploadedFile(ctx);
    if (!upload) throw new ValidationError({ file: '请选择回执文件（PDF 或扫描图片）' });
    const { repeated } = await uploadReceipt(web.core, actor, roundId, upload, validate(receiptSchema, body).note ?? '');
    return { kind: repeated ? 'info' : 'success', message: repeated ? '该回执已上传过' : '发放完成回执已上传' };
  });

  router.get('/bank/receipts/:id', async (ctx) => {
    const actor = await reader(ctx);
    const receipt = await receiptFile(db, idParam(ctx, '回执'));
    await visibleRound(actor, receipt.roundId);
    web.sendFile(ctx, receipt.fileName, receipt.contentType, receipt.body);
  });

  // The list of failed payments returned to the treasury (Qinghai 二(一)4: 公开公示发放失败人员名单), so that the people
  // on it come forward: for staff in their scope, and on the public pages per county. Names and ID numbers masked as
  // on every public output, no account data at all.
  async function failedList(q: ReturnType<typeof failuresQuery>, regionId: number) {
    const rows = await returnedCases(q);
    const departments = await orgNames(db, rows.map((r) => r.department_org_id));
    const rule = await publicMaskRule(db, regionId);
    return rows.map((r) => presentFailedListRow(r, departments, rule));
  }

  router.get('/bank/failed-list', async (ctx) => {
    const actor = await reader(ctx);
    web.render(ctx, 'bank/failed-list.njk', { title: '惠民惠农补贴发放失败人员名单', rows: await failedList(failuresQuery(db, actor), actor.regionId), today: businessDate() });
  });

  router.get('/public/failed-payments', async (ctx) => {
    const { county, counties } = await publicCounty(db, validate(countyQuerySchema, ctx.query).county);
    if (!county) return web.render(ctx, 'bank/failed-list.njk', { title: '惠民惠农补贴发放失败人员名单', counties, public: true });
    web.render(ctx, 'bank/failed-list.njk', {
      title: `${county.name}惠民惠农补贴发放失败人员名单`,
      rows: await publicFailedPayments(db, county.id),
      today: businessDate(),
      public: true,
    });
  });
}
