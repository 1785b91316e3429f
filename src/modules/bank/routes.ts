import type Router from '@koa/router';
import type { Context } from 'koa';
import { requireId, validate } from '../../core/http/validate.ts';
import { publicKeyPem, signatureFile, signingKeys } from '../../core/signing.ts';
import type { Web } from '../../core/web/web.ts';
import { roundMoney } from '../batch/index.ts';
import { uploadedFile } from '../../core/http/upload.ts';
import { SignatureRefusal, bankRounds, delivered, payoutFile, payoutHeaders, roundBankTerms } from './commands.ts';
import { FAILURE_CODES, importResultFile } from './results.ts';
import { PAYOUT_FORMATS } from './payout.ts';
import { can } from './policy.ts';
import { presentFileTerms, presentPayoutRound, presentSigningKey } from './presenters.ts';
import { roundResults } from './queries.ts';
import { payoutQuerySchema } from './schemas.ts';

/** The agent bank's pages: the rounds released to it and their payout files with checksums. */
export function bankRoutes(router: Router, web: Web): void {
  const { db } = web.core;
  const bankUser = (ctx: Context) => web.permit(ctx, (actor) => can(actor, 'bank_files', null));

  async function payoutsPage(ctx: Context, actor: Awaited<ReturnType<typeof bankUser>>, extra: Record<string, unknown> = {}, status = 200) {
    const rounds = await bankRounds(web.core, { actor });
    web.render(ctx, 'bank/payouts.njk', {
      title: '代发文件',
      rounds: await Promise.all(
        rounds.map(async (r) => {
          const money = await roundMoney(db, r.id);
          return { ...presentPayoutRound(r, money, await roundResults(db, r.id, { count: money.lines, totalFen: money.linesFen })), ...presentFileTerms(await roundBankTerms(web.core, r, actor.orgId!)) };
        }),
      ),
      formats: PAYOUT_FORMATS.map((f) => ({ code: f.code, label: f.label })),
      signingKeys: (await signingKeys(db)).map(presentSigningKey),
      codes: Object.entries(FAILURE_CODES).map(([code, label]) => ({ code, label })),
      ...extra,
    }, status);
  }

  router.get('/bank/payouts', async (ctx) => payoutsPage(ctx, await bankUser(ctx)));

  router.post('/bank/payouts/:id/results', async (ctx) => {
    const actor = await bankUser(ctx);
    const roundId = requireId(ctx.params.id, '发放批次');
    const upload = uploadedFile(ctx);
    if (!upload) return payoutsPage(ctx, actor, { uploadError: { roundId, field: 'f', message: '请选择回盘文件（.xlsx 或 .csv）' } }, 422);
    let outcome;
    try {
      outcome = await importResultFile(web.core, actor, roundId, upload, uploadedFile(ctx, 'signature')?.buffer ?? null);
    } catch (err) {
      if (!(err instanceof SignatureRefusal)) throw err;
      return payoutsPage(ctx, actor, { uploadError: { roundId, field: 's', message: err.fieldErrors.signature } }, 422);
    }
    if (!outcome.ok) return payoutsPage(ctx, actor, { refusal: await web.importRefusal(ctx, '回盘文件导入', upload.name, outcome.errors, outcome.report) }, 422);
    const message = outcome.repeated ? '该回盘文件已导入过，本次没有做任何更改' : `回盘已导入：成功 ${outcome.paid} 笔，失败 ${outcome.failed} 笔，已有结果 ${outcome.unchanged} 笔`;
    await web.redirectWith(ctx, '/bank/payouts', { kind: outcome.repeated ? 'info' : 'success', message });
  });

  async function file(ctx: Context, delivered = true) {
    const actor = await bankUser(ctx);
    const roundId = requireId(ctx.params.id, '发放批次');
    return payoutFile(web.core, { actor }, roundId, String(ctx.params.format), validate(payoutQuerySchema, ctx.query).supplement, { delivered });
  }

  router.get('/bank/payouts/:id/:format', async (ctx) => {
    const payout = await file(ctx);
    ctx.set(payoutHeaders(payout));
    const out = delivered(payout, payout.encryptFor);
    web.sendFile(ctx, out.fileName, out.contentType, out.body);
  });

  // The signature file beside it (docs/signature-format.md).
  router.get('/bank/payouts/:id/:format/sig', async (ctx) => {
    const payout = await file(ctx, false);
    web.sendFile(ctx, `${payout.fileName}.sig`, 'text/plain; charset=utf-8', Buffer.from(signatureFile(payout.signature, payout.fileName)));
  });

  // The deployment's public key, with which the bank checks the signatures.
  router.get('/bank/signing-key.pem', async (ctx) => {
    await bankUser(ctx);
    const [key] = await signingKeys(db);
    web.sendFile(ctx, `一卡通平台签名公钥-${key!.fingerprint.slice(0, 16)}.pem`, 'application/x-pem-file', Buffer.from(publicKeyPem(key!.publicKey)));
  });

  // The checksum file beside it, in the `sm3sum` layout: "<hex>  <file name>".
  router.get('/bank/payouts/:id/:format/sm3', async (ctx) => {
    const payout = await file(ctx, false);
    web.sendFile(ctx, `${payout.fileName}.sm3`, 'text/plain; charset=utf-8', Buffer.from(`${payout.sm3}  ${payout.fileName}\n`));
  });
}
