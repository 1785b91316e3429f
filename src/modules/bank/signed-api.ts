import type { Context } from 'koa';
import { ApiRefusal } from '../../core/api.ts';
import { SignatureRefusal } from './commands.ts';

/**
 * The agreement's file terms in the bank's API (docs/signature-format.md): the bank's signature on what it posts,
 * over the request body as sent, in the X-Signature-SM2 header (required when its agreement says so, checked against
 * the key on it); and the files it is given, sealed for its key when agreed.
 */

/** The request body as sent (its raw bytes) and the signature header, if any. */
export function signedBody(ctx: Context): { raw: Buffer; signature: string | null } {
  return { raw: Buffer.from((ctx.request as { rawBody?: string }).rawBody ?? '', 'utf8'), signature: ctx.get('X-Signature-SM2') || null };
}

/** A signature refused, as the API says it: the error names the header. */
export async function signedRequest<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof SignatureRefusal) throw new ApiRefusal([{ field: 'X-Signature-SM2', message: err.fieldErrors.signature! }]);
    throw err;
  }
}

/** Where the bank's signature of a request goes (docs/signature-format.md). */
export const signatureHeader = {
  name: 'X-Signature-SM2',
  in: 'header',
  required: false,
  description: '银行对请求体（原样字节）的 SM2 签名（SM3 杂凑，用户标识 1234567812345678，DER 编码，十六进制）。代发协议要求银行签名时必填，签名须能用协议登记的银行公钥核对；格式见 /help/formats/signature-format',
  schema: { type: 'string', pattern: '^30[0-9a-fA-F]+$' },
};


/** A file given to the bank through the API, as an attachment; sealed for it, it says so (X-Encryption). */
export function sendToBank(ctx: Context, out: { fileName: string; contentType: string; body: Buffer; encryptedFor: string | null }): void {
  if (out.encryptedFor) ctx.set({ 'X-Encryption': 'SM4-CBC', 'X-Encryption-Key-Id': out.encryptedFor });
  ctx.set('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(out.fileName)}`);
  ctx.type = out.contentType;
  ctx.body = out.body;
}
