import path from 'node:path';

/** Settings come from environment variables only; the README lists each one. */
export interface Config {
  /** An SQLite file path, or a postgres:// URL. */
  databaseUrl: string;
  port: number;
  host: string;
  /** Secret for field encryption, blind indexes, CSRF tokens. Required outside demo and test. */
  secretKey: string;
  dataDir: string;
  /** Demo mode: seeded county, no second factor. Never on in production. */
  demo: boolean;
  /** Trust X-Forwarded-Proto/For from a reverse proxy that terminates TLS. */
  trustProxy: boolean;
  /** Idle minutes before a session expires. */
  sessionIdleMinutes: number;
  /** scrypt cost exponent (N = 2^n). 15 by default; tests may lower it. */
  scryptLogN: number;
  /** How many nightly SQLite backups to keep. */
  backupKeep: number;
}

export class ConfigError extends Error {}

const MIN_SECRET_LENGTH = 32;

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`环境变量 ${name} 应为整数，当前为“${raw}”`);
  return Number(raw);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const dataDir = path.resolve(env.YKT_DATA_DIR || 'data');
  const demo = overrides.demo ?? env.YKT_DEMO === '1';
  const config: Config = {
    databaseUrl: env.DATABASE_URL || path.join(dataDir, 'ykt.sqlite'),
    port: intFrom(env, 'PORT', 3000),
    host: env.HOST || '0.0.0.0',
    secretKey: env.YKT_SECRET_KEY || '',
    dataDir,
    demo,
    trustProxy: env.YKT_TRUST_PROXY === '1',
    sessionIdleMinutes: intFrom(env, 'YKT_SESSION_IDLE_MINUTES', 30),
    scryptLogN: intFrom(env, 'YKT_SCRYPT_LOG_N', 15),
    backupKeep: intFrom(env, 'YKT_BACKUP_KEEP', 14),
    ...overrides,
  };
  if (config.secretKey.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `缺少 YKT_SECRET_KEY（至少 ${MIN_SECRET_LENGTH} 个字符），生产实例拒绝启动。` +
        '可用 `node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'hex\'))"` 生成。',
    );
  }
  if (config.scryptLogN < 10 || config.scryptLogN > 20) throw new ConfigError('YKT_SCRYPT_LOG_N 应在 10 到 20 之间');
  return config;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
