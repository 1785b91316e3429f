import type Router from '@koa/router';
import type { Context } from 'koa';
import { type Signature, signatureFile } from '../../core/signing.ts';
import type { Web } from '../../core/web/web.ts';
import { delivered } from './commands.ts';

/** A list given to the bank: its bytes, the deployment's signature of them, and the bank's key it goes encrypted for, if agreed. */
export interface SignedList {
  fileName: string;
  body: Buffer;
  signature: Signature;
  encryptFor: string | null;
}

/**
 * The two downloads of a list given to the bank (a card-request list, an account-verification list): the list at
 * `path` (sealed for the bank when its agreement says so, audited by `load`), and the deployment's signature beside
 * it at `path.sig` (docs/signature-format.md; the list itself is not delivered, nor audited as such).
 */
export function bankListRoutes(router: Router, web: Web, path: string, contentType: string, load: (ctx: Context, options: { delivered: boolean }) => Promise<SignedList>): void {
  router.get(path, async (ctx) => {
    const file = await load(ctx, { delivered: true });
    const out = delivered({ fileName: file.fileName, contentType, body: file.body }, file.encryptFor);
    web.sendFile(ctx, out.fileName, out.contentType, out.body);
  });
  router.get(`${path}.sig`, async (ctx) => {
    const file = await load(ctx, { delivered: false });
    web.sendFile(ctx, `${file.fileName}.sig`, 'text/plain; charset=utf-8', Buffer.from(signatureFile(file.signature, file.fileName)));
  });
}
