import type Router from '@koa/router';
import type { Context } from 'koa';
import { formatDateTime } from '../../core/dates.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { COMPLAINT_CHANNELS, COMPLAINT_KINDS, complaintAnswerSchema, complaintAssignSchema, complaintReturnSchema, complaintSchema, complaintStatusSchema, staffComplaintSchema } from './complaint-schemas.ts';
import { COMPLAINT_STATUSES, TooManyRequestsError, assignComplaint, complaintQueue, complaintStatus, contactOf, countyDepartments, enterComplaint, fileComplaint, formatQueryCode, handleComplaint, reviewComplaint } from './complaints.ts';
import { formatSheetCode, normaliseSheetCode } from './model.ts';
import { can } from './policy.ts';
import type { Actor } from '../../core/auth/roles.ts';

/** Who opens the staff queue: the handlers (their county's complaints), the townships and departments (those assigned to them). */
const hasAnyRole = (a: Actor) => can(a, 'open_complaint_queue', null);

/**
 * 公示异议、投诉举报: the portal's form and status query (no login, rate-limited per address), and the staff queue
 * where complaints wait to be answered (objections to a notice are resolved by the township on the roster page).
 */
export function complaintRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const counties = async () => ((await db('core_region').where({ level: 'county' }).orderBy('name').select('id', 'name')) as { id: number; name: string }[]).map((c) => ({ value: c.id, label: c.name }));

  async function formPage(ctx: Context, extra: Record<string, unknown> = {}, status = 200) {
    web.render(ctx, 'publicity/complaint-form.njk', { title: '公示异议和投诉举报', kinds: COMPLAINT_KINDS, counties: await counties(), errors: {}, values: {}, ...extra }, status);
  }

  /** A refusal of a portal form: 422 with the fields' messages, 429 over the address's quota, 409 when the notice no longer takes objections. */
  function portalRefusal(err: unknown): { extra: Record<string, unknown>; status: number } | null {
    if (err instanceof ValidationError) return { extra: { errors: err.fieldErrors }, status: 422 };
    if (err instanceof TooManyRequestsError) return { extra: { conflict: err.message }, status: 429 };
    if (err instanceof ConflictError) return { extra: { conflict: err.message }, status: 409 };
    return null;
  }

  router.get('/public/complaints', async (ctx) => {
    const code = typeof ctx.query.code === 'string' ? normaliseSheetCode(ctx.query.code) : null;
    await formPage(ctx, { values: code ? { kind: 'objection', sheetCode: formatSheetCode(code) } : { kind: 'complaint' } });
  });

  router.post('/public/complaints', async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const values = { ...body, _csrf: undefined };
    try {
      const filed = await fileComplaint(web.core, validate(complaintSchema, body), ctx.ip || null);
      web.render(ctx, 'publicity/complaint-receipt.njk', { title: '已受理', trackingNo: filed.trackingNo, code: formatQueryCode(filed.code), kind: COMPLAINT_KINDS[filed.kind] });
    } catch (err) {
      const refusal = portalRefusal(err);
      if (!refusal) throw err;
      await formPage(ctx, { values, ...refusal.extra }, refusal.status);
    }
  });

  const statusPage = (ctx: Context, extra: Record<string, unknown> = {}, status = 200) =>
    web.render(ctx, 'publicity/complaint-status.njk', { title: '查询办理情况', errors: {}, values: {}, ...extra }, status);

  router.get('/public/complaints/status', (ctx) => statusPage(ctx));

  router.post('/public/complaints/status', async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const values = { trackingNo: body.trackingNo };
    try {
      const { trackingNo, code } = validate(complaintStatusSchema, body);
      const found = await complaintStatus(web.core, trackingNo, code, ctx.ip || null);
      if (!found) return statusPage(ctx, { values, notFound: true }, 404);
      statusPage(ctx, { values, found: { ...found, answeredAt: found.answeredAt ? formatDateTime(found.answeredAt) : null } });
    } catch (err) {
      const refusal = portalRefusal(err);
      if (!refusal) throw err;
      statusPage(ctx, { values, ...refusal.extra }, refusal.status);
    }
  });

  // Staff: the queue of what the public filed in their county scope.
  async function queuePage(ctx: Context, extra: Record<string, unknown> = {}, status = 200) {
    const actor = await web.permit(ctx, (a) => hasAnyRole(a));
    const rows = await complaintQueue(db, actor);
    const regions = (await db('core_region').whereIn('level', ['county', 'township']).select('id', 'name', 'level', 'path')) as { id: number; name: string; level: string; path: string }[];
    const scopeCounties = regions.filter((r) => r.level === 'county' && r.path.startsWith(actor.regionPath)).map((c) => ({ value: c.id, label: c.name }));
    const countyPath = new Map(regions.filter((r) => r.level === 'county').map((r) => [r.id, r.path]));
    const townshipsOf = (countyId: number) => regions.filter((r) => r.level === 'township' && r.path.startsWith(countyPath.get(countyId) ?? '-')).map((r) => ({ value: r.id, label: r.name }));
    const regionName = new Map(regions.map((r) => [r.id, r.name]));
    const departments = new Map<number, { id: number; name: string }[]>();
    for (const countyId of new Set(rows.map((r) => r.county_id))) departments.set(countyId, await countyDepartments(db, countyId));
    const departmentName = new Map([...departments.values()].flat().map((d) => [d.id, d.name]));
    const pathOf = (regionId: number | null) => (regionId === null ? null : regions.find((r) => r.id === regionId)?.path ?? null);
    web.render(
      ctx,
      'publicity/complaint-queue.njk',
      {
        title: '群众异议和投诉举报',
        rows: rows.map((r) => ({
          id: r.id,
          trackingNo: r.tracking_no,
          kind: COMPLAINT_KINDS[r.kind],
          filedOn: r.filed_on,
          status: COMPLAINT_STATUSES[r.standing],
          subject: r.kind === 'objection' ? `公示表 ${r.sheet_code ? formatSheetCode(r.sheet_code) : ''}` : (r.subject ?? ''),
          rosterId: r.roster_id,
          content: r.content,
          contact: contactOf(r),
          answer: r.shownAnswer,
          answeredAt: r.shownAnsweredAt ? formatDateTime(r.shownAnsweredAt) : null,
          channel: COMPLAINT_CHANNELS[r.channel] ?? '门户网站',
          receivedOn: r.received_on,
          assignee: r.assignee_region_id ? regionName.get(r.assignee_region_id) ?? '' : r.assignee_org_id ? departmentName.get(r.assignee_org_id) ?? '' : null,
          canAnswer: can(actor, 'answer_complaint', { ...r, assignee_path: pathOf(r.assignee_region_id) }).ok,
          canProgress: can(actor, 'assign_complaint', r).ok && r.status === 'received',
          canAssign: can(actor, 'assign_complaint', r).ok,
          canReview: can(actor, 'close_complaint', r).ok,
          canReturn: can(actor, 'return_complaint', { ...r, assignee_path: pathOf(r.assignee_region_id) }).ok,
          townships: townshipsOf(r.county_id),
          departments: (departments.get(r.county_id) ?? []).map((d) => ({ value: d.id, label: d.name })),
        })),
        canEnter: can(actor, 'enter_complaint', null).ok,
        channels: COMPLAINT_CHANNELS,
        counties: scopeCounties,
        errors: {},
        values: {},
        ...extra,
      },
      status,
    );
  }

  router.get('/publicity/complaints', (ctx) => queuePage(ctx));

  router.post('/publicity/complaints/:id/answer', async (ctx) => {
    const actor = await web.permit(ctx, (a) => hasAnyRole(a));
    const id = requireId(ctx.params.id, '投诉举报');
    await web.formStep(
      ctx,
      '/publicity/complaints',
      () => handleComplaint(web.core, actor, id, { kind: 'answer', answer: validate(complaintAnswerSchema, ctx.request.body).answer }),
      (extra, status) => queuePage(ctx, { ...extra, answerFor: id, errors: Object.fromEntries(Object.entries((extra.errors as Record<string, string>) ?? {}).map(([k, v]) => [`${k}_${id}`, v])) }, status),
    );
  });

  router.post('/publicity/complaints/:id/progress', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_complaints', null));
    const id = requireId(ctx.params.id, '投诉举报');
    await web.formStep(ctx, '/publicity/complaints', () => handleComplaint(web.core, actor, id, { kind: 'progress' }), (extra, status) => queuePage(ctx, extra, status));
  });

  // Staff register what came by phone, letter or visit; the receipt shows the query code once, to pass on.
  router.post('/publicity/complaints/new', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_complaints', null));
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    try {
      const entered = await enterComplaint(web.core, actor, validate(staffComplaintSchema, body));
      web.render(ctx, 'publicity/complaint-receipt.njk', { title: '已登记', kind: '投诉举报', staff: true, trackingNo: entered.trackingNo, code: formatQueryCode(entered.code) });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await queuePage(ctx, { values: { ...body, _csrf: undefined }, errors: err.fieldErrors, entering: true }, 422);
    }
  });

  /** A step on one complaint's row: its field errors are keyed by the row, its typed values kept. */
  const rowStep = (path: string, run: (ctx: Context, actor: Awaited<ReturnType<typeof web.permit>>, id: number) => Promise<string>) =>
    router.post(`/publicity/complaints/:id/${path}`, async (ctx) => {
      const actor = await web.permit(ctx, (a) => hasAnyRole(a));
      const id = requireId(ctx.params.id, '投诉举报');
      await web.formStep(
        ctx,
        '/publicity/complaints',
        () => run(ctx, actor, id),
        (extra, status) => queuePage(ctx, { ...extra, answerFor: id, values: { ...((ctx.request.body ?? {}) as object), _csrf: undefined }, errors: Object.fromEntries(Object.entries((extra.errors as Record<string, string>) ?? {}).map(([k, v]) => [`${k}_${id}`, v])) }, status),
      );
    });
  rowStep('assign', (ctx, actor, id) => assignComplaint(web.core, actor, id, validate(complaintAssignSchema, ctx.request.body)));
  rowStep('close', (_ctx, actor, id) => reviewComplaint(web.core, actor, id, { kind: 'close' }));
  rowStep('return', (ctx, actor, id) => reviewComplaint(web.core, actor, id, { kind: 'return', note: validate(complaintReturnSchema, ctx.request.body).note }));
}
