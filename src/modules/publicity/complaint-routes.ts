import type Router from '@koa/router';
import type { Context } from 'koa';
import { formatDateTime } from '../../core/dates.ts';
import { ConflictError, ValidationError } from '../../core/errors.ts';
import { requireId, validate } from '../../core/http/validate.ts';
import type { Web } from '../../core/web/web.ts';
import { COMPLAINT_KINDS, complaintAnswerSchema, complaintSchema, complaintStatusSchema } from './complaint-schemas.ts';
import { COMPLAINT_STATUSES, TooManyRequestsError, complaintQueue, complaintStatus, contactOf, fileComplaint, formatQueryCode, handleComplaint } from './complaints.ts';
import { formatSheetCode, normaliseSheetCode } from './model.ts';
import { can } from './policy.ts';

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
    const actor = await web.permit(ctx, (a) => can(a, 'view_complaints', null));
    const rows = await complaintQueue(db, actor);
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
          canAnswer: can(actor, 'answer_complaint', r).ok,
          canProgress: can(actor, 'answer_complaint', r).ok && r.status === 'received',
        })),
        errors: {},
        values: {},
        ...extra,
      },
      status,
    );
  }

  router.get('/publicity/complaints', (ctx) => queuePage(ctx));

  router.post('/publicity/complaints/:id/answer', async (ctx) => {
    const actor = await web.permit(ctx, (a) => can(a, 'view_complaints', null));
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
}
