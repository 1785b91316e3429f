import multer from 'multer';
import type { Context, Next } from 'koa';
import { ForbiddenError, ValidationError } from '../errors.ts';

/**
 * Multipart forms (file uploads) are read in memory before the CSRF check, like any other form, so that the
 * form's token is checked the same way and no route can forget it. One file per request (`file`), and beside it
 * at most its signature (`signature`, docs/signature-format.md); at most 20 MB each (a 50,000-row workbook is a few
 * MB). Only a logged-in user (past any pending login step; the session middleware
 * runs first) may send one: anyone else is refused before a byte of the body is read, and the connection closed
 * rather than kept to drain the rest.
 */
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

export function multipartBody() {
  // Browsers send the file name as raw UTF-8 in the part header; busboy's default would read it as latin1.
  const parse = multer({ storage: multer.memoryStorage(), defParamCharset: 'utf8', limits: { files: 2, fileSize: MAX_UPLOAD_BYTES, fields: 50 } }).fields([{ name: 'file', maxCount: 1 }, { name: 'signature', maxCount: 1 }]);
  return async (ctx: Context, next: Next) => {
    if (!ctx.is('multipart')) return next();
    if (!ctx.state.actor || ctx.state.pendingStep) {
      ctx.set('Connection', 'close');
      throw new ForbiddenError('请先登录，再上传文件');
    }
    try {
      await new Promise<void>((resolve, reject) => parse(ctx.req as never, ctx.res as never, (err: unknown) => (err ? reject(err) : resolve())));
      const req = ctx.req as unknown as { body?: Record<string, unknown>; files?: unknown };
      ctx.request.body = req.body ?? {};
      (ctx.request as unknown as { files?: unknown }).files = req.files;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const message = code === 'LIMIT_FILE_SIZE' ? `文件超过 ${MAX_UPLOAD_BYTES / 1048576} MB` : code === 'LIMIT_FILE_COUNT' || code === 'LIMIT_UNEXPECTED_FILE' ? '一次只能上传一个文件（及其签名文件）' : '上传的表单无法读取，请重新选择文件提交';
      throw new ValidationError({ file: message }, message);
    }
    await next();
  };
}

/** The uploaded file of a multipart form (its field `file`, or `signature` for the signature beside it), or null. */
export function uploadedFile(ctx: Context, field: 'file' | 'signature' = 'file'): { name: string; buffer: Buffer } | null {
  const files = (ctx.request as unknown as { files?: Record<string, { originalname: string; buffer: Buffer }[]> }).files;
  const file = files?.[field]?.[0];
  return file && file.buffer.length ? { name: file.originalname, buffer: file.buffer } : null;
}
