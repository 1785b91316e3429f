import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../core/auth/roles.ts';
import { formatDateTime } from '../../core/dates.ts';
import { ValidationError } from '../../core/errors.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { parseId, requireId } from '../../core/http/validate.ts';
import { ImportRefused, type Web } from '../../core/web/web.ts';
import { ACCOUNT_VERDICTS, roundsInState } from '../batch/index.ts';
import { accountCheckFile, accountCheckInScope, accountCheckOutcomes, answerAccountCheck, listAccountChecks, requestAccountCheck } from './account-checks.ts';
import { bankTermsToday } from './commands.ts';
import { bankListRoutes } from './list-routes.ts';
import { can } from './policy.ts';
import { presentFileTerms } from './presenters.ts';

/** 账户核验: the round's accounts verified by the bank before money moves (account-checks.ts). */
export function accountCheckRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const reader = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'read_account_checks', null));
  const idParam = (ctx: Context) => requireId(ctx.params.id, '账户核验');
  const stateLabel = (c: { state: string; answered_at: string | null }) => (c.state === 'answered' ? `已回复（${formatDateTime(c.answered_at)}）` : '待银行核验');

  /** The rounds the actor may send for verification now: its compiling rounds (department) or those under review (finance). */
  async function roundChoices(actor: Actor) {
    const rounds = [...(await roundsInState(db, actor, 'compiling')), ...(await roundsInState(db, actor, 'submitted'))].map((r) => r.round);
    return rounds.filter((r) => can(actor, 'request_account_check', r).ok).map((r) => ({ value: r.id, label: `${r.title}（${r.state === 'compiling' ? '编制中' : '待财政复核'}）` }));
  }

  async function listPage(ctx: Context, actor: Actor, extra: Record<string, unknown> = {}, status = 200) {
    const rounds = await roundChoices(actor);
    const banks = rounds.length ? ((await db('core_org').where({ kind: 'bank', region_id: actor.regionId }).orderBy('id').select('id', 'name')) as { id: number; name: string }[]) : [];
    web.render(ctx, 'bank/account-checks.njk', {
      title: '账户核验',
      rows: (await listAccountChecks(db, actor)).map((c) => ({ id: c.id, round: c.round_title, bank: c.bank_name, lines: c.lines, at: formatDateTime(c.requested_at), by: c.requested_by_name, state: stateLabel(c) })),
      rounds,
      banks: banks.map((b) => ({ value: b.id, label: b.name })),
      values: { roundId: ctx.query.round ?? '' },
      errors: {},
      ...extra,
    }, status);
  }

  router.get('/bank/account-checks', async (ctx) => listPage(ctx, await reader(ctx)));

  router.post('/bank/account-checks', async (ctx) => {
    const actor = web.actor(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    await web.formStep(
      ctx,
      '/bank/account-checks',
      async () => {
        const roundId = parseId(String(body.roundId ?? ''));
        const bankOrgId = parseId(String(body.bankOrgId ?? ''));
        const errors: Record<string, string> = {};
        if (roundId === null) errors.roundId = '请选择发放批次';
        if (bankOrgId === null) errors.bankOrgId = '请选择代发金融机构';
        if (Object.keys(errors).length) throw new ValidationError(errors);
        const id = await requestAccountCheck(web.core, actor, { roundId: roundId!, bankOrgId: bankOrgId! });
        return { message: '账户核验已发送代发金融机构', to: `/bank/account-checks/${id}` };
      },
      (extra, status) => listPage(ctx, actor, extra, status),
    );
  });

  async function checkPage(ctx: Context, actor: Actor, id: number, extra: Record<string, unknown> = {}, status = 200) {
    const check = await accountCheckInScope(db, actor, id);
    const outcomes = await accountCheckOutcomes(db, id);
    const wrong = outcomes.filter((o) => o.outcome !== null && o.outcome !== 'ok');
    web.render(ctx, 'bank/account-check.njk', {
      title: `账户核验 ${id}`,
      check: { id, roundId: check.round_id, round: check.round_title, bank: check.bank_name, lines: check.lines, at: formatDateTime(check.requested_at), by: check.requested_by_name, state: stateLabel(check), answered: check.state === 'answered' },
      wrong: wrong.map((o) => ({ lineId: o.line_id, holder: o.holder_name, outcome: ACCOUNT_VERDICTS[o.outcome!], note: o.note ?? '' })),
      verified: outcomes.filter((o) => o.outcome === 'ok').length,
      can: { download: can(actor, 'download_account_check', check).ok, answer: can(actor, 'answer_account_check', check).ok },
      fileTerms: presentFileTerms(await bankTermsToday(web.core, check.bank_org_id, check.county_id)),
      errors: {},
      ...extra,
    }, status);
  }

  router.get('/bank/account-checks/:id', async (ctx) => checkPage(ctx, await reader(ctx), idParam(ctx)));

  bankListRoutes(router, web, '/bank/account-checks/:id/list.csv', 'text/csv; charset=utf-8', async (ctx, options) => accountCheckFile(web.core, { actor: await reader(ctx) }, idParam(ctx), options));

  router.post('/bank/account-checks/:id/answer', async (ctx) => {
    const actor = await reader(ctx);
    const id = idParam(ctx);
    await web.formStep(
      ctx,
      `/bank/account-checks/${id}`,
      async () => {
        const upload = uploadedFile(ctx);
        if (!upload) throw new ValidationError({ file: '请选择填好核验结果的名单（.csv 或 .xlsx）' });
        const outcome = await answerAccountCheck(web.core, actor, id, upload, uploadedFile(ctx, 'signature')?.buffer ?? null);
        if (!outcome.ok) throw new ImportRefused({ refusal: await web.importRefusal(ctx, '账户核验结果', upload.name, outcome.errors, outcome.report) });
        return outcome.repeated ? { message: '该文件已上传过，本次没有做任何更改', kind: 'info' } : `核验结果已导入：一致 ${outcome.verified} 笔，有误 ${outcome.wrong} 笔（已列为阻断性问题，更正前不能下达）`;
      },
      (extra, status) => checkPage(ctx, actor, id, extra, status),
    );
  });
}
