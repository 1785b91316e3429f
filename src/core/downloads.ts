import type { Core } from './context.ts';
import { randomToken, sha256 } from './crypto.ts';
import type { Conn } from './db.ts';

/**
 * A file made for one user to download shortly after (an import's error report, which repeats the rows they
 * uploaded): stored encrypted, fetched by an unguessable token, only by that user, within an hour. Expired
 * ones are deleted by the session-cleanup task.
 */
const KEEP_MINUTES = 60;

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const tokenHash = (token: string) => sha256(token).toString('hex');

export async function stashDownload(core: Core, userId: number, fileName: string, contentType: string, body: Buffer): Promise<string> {
  const token = randomToken(24);
  const now = new Date();
  await core.db('core_download').insert({
    token_hash: tokenHash(token),
    user_id: userId,
    file_name: fileName.slice(0, 200),
    content_type: contentType,
    body_enc: core.crypto.encrypt(body.toString('base64')),
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + KEEP_MINUTES * 60_000).toISOString(),
  });
  return token;
}

/** The stashed file, if the token is this user's and has not expired. */
export async function fetchDownload(core: Core, userId: number, token: string): Promise<{ fileName: string; contentType: string; body: Buffer } | null> {
  if (!/^[A-Za-z0-9_-]{20,64}$/.test(token)) return null;
  const row = await core.db('core_download').where({ token_hash: tokenHash(token), user_id: userId }).where('expires_at', '>', new Date().toISOString()).first();
  if (!row) return null;
  return { fileName: row.file_name, contentType: row.content_type, body: Buffer.from(core.crypto.decrypt(row.body_enc), 'base64') };
}

export async function deleteExpiredDownloads(db: Conn): Promise<number> {
  return db('core_download').where('expires_at', '<=', new Date().toISOString()).delete();
}
