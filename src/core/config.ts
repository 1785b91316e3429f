import fs from 'node:fs';
import path from 'node:path';
import { AUDIT_KEY_BYTES, deriveAuditKey, useAuditKey } from './audit-key.ts';

/** Settings come from environment variables only; the README lists each one. */
export interface Config {
  /** An SQLite file path, or a postgres:// URL. */
  databaseUrl: string;
  port: number;
  host: string;
  /** Secret for field encryption, blind indexes, CSRF tokens. Required outside demo and test. */
  secretKey: string;
  dataDir: string;
  /** Demo mode: seeded county, no second factor. Set by `ykt demo` only, never from the environment. */
  demo: boolean;
  /** Trust X-Forwarded-Proto/For from a reverse proxy that terminates TLS. */
  trustProxy: boolean;
  /** Idle minutes before a session expires. */
  sessionIdleMinutes: number;
  /** scrypt cost exponent (N = 2^n). 15 by default; tests may lower it. */
  scryptLogN: number;
  /** How many nightly SQLite backups to keep. */
  backupKeep: number;
  /** HMAC-SM3 key of the audit chain: YKT_AUDIT_KEY, or derived from secretKey (src/core/audit-key.ts). */
  auditKey: Buffer;
  /** A second file the audit anchor is copied to after each verification (YKT_AUDIT_ANCHOR_COPY), or null. */
  auditAnchorCopy: string | null;
  /**
   * The public portal's address as citizens reach it (YKT_PUBLIC_URL, e.g. https://ykt.example.gov.cn), printed on
   * publicity sheets and in their QR codes; null: the address the staff page was asked at.
   */
  publicUrl: string | null;
}

/** What `ykt verify-audit` needs: no YKT_SECRET_KEY, so that an audit office verifies with the audit key alone. */
export type AuditVerifierConfig = Pick<Config, 'databaseUrl' | 'dataDir' | 'auditKey' | 'auditAnchorCopy'>;

export class ConfigError extends Error {}

const MIN_SECRET_LENGTH = 32;

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`环境变量 ${name} 应为整数，当前为“${raw}”`);
  return Number(raw);
}

function locations(env: NodeJS.ProcessEnv): Pick<Config, 'databaseUrl' | 'dataDir' | 'auditAnchorCopy'> {
  const dataDir = path.resolve(env.YKT_DATA_DIR || 'data');
  return {
    databaseUrl: env.DATABASE_URL || path.join(dataDir, 'ykt.sqlite'),
    dataDir,
    auditAnchorCopy: env.YKT_AUDIT_ANCHOR_COPY ? path.resolve(env.YKT_AUDIT_ANCHOR_COPY) : null,
  };
}

/** YKT_PUBLIC_URL without a trailing slash, if it is an http(s) address. */
function publicUrlFrom(env: NodeJS.ProcessEnv): string | null {
  const raw = (env.YKT_PUBLIC_URL ?? '').trim().replace(/\/+$/, '');
  if (raw === '') return null;
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(raw)) throw new ConfigError(`YKT_PUBLIC_URL 应为门户的网址，例如 https://ykt.example.gov.cn，当前为“${raw}”`);
  return raw;
}

/** An audit key written as hex (64 digits; spaces and line breaks ignored). */
export function parseAuditKey(text: string, source: string): Buffer {
  const hex = text.replace(/\s+/g, '');
  if (!new RegExp(`^[0-9a-fA-F]{${AUDIT_KEY_BYTES * 2}}$`).test(hex)) {
    throw new ConfigError(`${source} 应为 ${AUDIT_KEY_BYTES * 2} 位十六进制数字的审计密钥（ykt audit-key 打印的那种）`);
  }
  return Buffer.from(hex, 'hex');
}

/**
 * The instance's settings. The audit key found here becomes the key this process writes audit rows with
 * (src/core/audit-key.ts).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const where = locations(env);
  const { auditKey, ...rest } = overrides;
  const settings = {
    ...where,
    port: intFrom(env, 'PORT', 3000),
    host: env.HOST || '0.0.0.0',
    secretKey: env.YKT_SECRET_KEY || '',
    // Only `ykt demo` turns demo mode on (an override); no environment variable does, so `ykt serve` never runs in it.
    demo: false,
    trustProxy: env.YKT_TRUST_PROXY === '1',
    sessionIdleMinutes: intFrom(env, 'YKT_SESSION_IDLE_MINUTES', 30),
    scryptLogN: intFrom(env, 'YKT_SCRYPT_LOG_N', 15),
    backupKeep: intFrom(env, 'YKT_BACKUP_KEEP', 14),
    publicUrl: publicUrlFrom(env),
    ...rest,
  };
  if (settings.secretKey.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `缺少 YKT_SECRET_KEY（至少 ${MIN_SECRET_LENGTH} 个字符），生产实例拒绝启动。` +
        '可用 `node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'hex\'))"` 生成。',
    );
  }
  if (settings.scryptLogN < 10 || settings.scryptLogN > 20) throw new ConfigError('YKT_SCRYPT_LOG_N 应在 10 到 20 之间');
  const config: Config = {
    ...settings,
    auditKey: auditKey ?? (env.YKT_AUDIT_KEY ? parseAuditKey(env.YKT_AUDIT_KEY, 'YKT_AUDIT_KEY') : deriveAuditKey(settings.secretKey)),
  };
  useAuditKey(config.auditKey);
  return config;
}

/**
 * The verifier's settings: the audit key from a key file (`ykt verify-audit --key-file`), else YKT_AUDIT_KEY,
 * else derived from YKT_SECRET_KEY as the server derives it.
 */
export function loadAuditVerifierConfig(env: NodeJS.ProcessEnv = process.env, keyFile?: string): AuditVerifierConfig {
  let auditKey: Buffer;
  if (keyFile) {
    let text: string;
    try {
      text = fs.readFileSync(keyFile, 'utf8');
    } catch {
      throw new ConfigError(`无法读取审计密钥文件 ${keyFile}`);
    }
    auditKey = parseAuditKey(text, `审计密钥文件 ${keyFile}`);
  } else if (env.YKT_AUDIT_KEY) {
    auditKey = parseAuditKey(env.YKT_AUDIT_KEY, 'YKT_AUDIT_KEY');
  } else if ((env.YKT_SECRET_KEY ?? '').length >= MIN_SECRET_LENGTH) {
    auditKey = deriveAuditKey(env.YKT_SECRET_KEY!);
  } else {
    throw new ConfigError('缺少审计密钥：请用 --key-file 指定审计密钥文件（ykt audit-key 打印的密钥），或设置 YKT_AUDIT_KEY（或 YKT_SECRET_KEY）');
  }
  return { ...locations(env), auditKey };
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
