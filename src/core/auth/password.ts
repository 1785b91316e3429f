import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

const KEY_BYTES = 32;
const R = 8;
const P = 1;

/** scrypt, a hash made for passwords (no native addon needed). Stored as scrypt$logN$r$p$salt$hash. */
export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, KEY_BYTES, options(logN));
  return ['scrypt', logN, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

function options(logN: number): crypto.ScryptOptions {
  const N = 2 ** logN;
  return { N, r: R, p: P, maxmem: 256 * N * R };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash || Number(r) !== R || Number(p) !== P) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64'), expected.length, options(Number(logN)));
  return crypto.timingSafeEqual(key, expected);
}

/** A hash to compare against when the user does not exist, so that timing does not reveal usernames. */
let dummyHash: Promise<string> | null = null;
export function dummyPasswordHash(logN: number): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'), logN);
  return dummyHash;
}

/** At least 8 characters of at least 3 kinds (upper case, lower case, digits, symbols). Null when acceptable. */
export function passwordPolicyError(password: string, username?: string): string | null {
  if (password.length < 8) return '密码至少 8 位';
  if (password.length > 128) return '密码不能超过 128 位';
  const kinds = [/[A-Z]/, /[a-z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (kinds < 3) return '密码须包含大写字母、小写字母、数字、符号中的至少三类';
  if (username && password.toLowerCase().includes(username.toLowerCase())) return '密码不能包含用户名';
  return null;
}
