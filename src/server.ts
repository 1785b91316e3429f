import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { composeTasks, createApp } from './app.ts';
import type { Config } from './core/config.ts';
import type { Core } from './core/context.ts';
import { createFieldCrypto } from './core/crypto.ts';
import { backupBeforeMigrating, markServing } from './core/backup.ts';
import { createDb, isPostgres, migrate } from './core/db.ts';
import { KEY_WATCH_MS, checkFieldKey, fieldKeyStillMatches } from './core/key-check.ts';
import { ensureSigningKey } from './core/signing.ts';
import { log } from './core/log.ts';
import { Scheduler } from './core/scheduler.ts';
import { sealSettlementAccounts } from './modules/agreement/index.ts';

export interface Running {
  url: string;
  core: Core;
  server: http.Server;
  /** This instance's scheduler (with several instances, each task's run is taken by one of them). */
  scheduler: Scheduler;
  /**
   * Check now, as the instance does every minute, that its field key is still the database's; if not (the key was
   * changed with this instance left running), stop it and call onFieldKeyChanged. Answers whether it still runs.
   */
  watchFieldKey(): Promise<boolean>;
  stop(): Promise<void>;
}

export function createCore(config: Config, options: { schema?: string } = {}): Core {
  return { db: createDb(config.databaseUrl, options), config, crypto: createFieldCrypto(config.secretKey) };
}

/**
 * Entry: connect, migrate (safe when two processes start together; on SQLite a database migrated forward by a newer
 * version is backed up first), check that the field key is the database's (core/key-check.ts), finish what a
 * migration left for the field key (which migrations do not have), start
 * the scheduler, listen. An SQLite database is marked as in use (`<file>.serving`) while the server runs, so that
 * `ykt restore` refuses to replace it.
 */
export async function start(
  config: Config,
  options: { logRequests?: boolean; beforeListen?: (core: Core) => Promise<void>; onFieldKeyChanged?: () => void } = {},
): Promise<Running> {
  const core = createCore(config);
  try {
    await backupBeforeMigrating(core.db, path.join(config.dataDir, 'backups'), config.backupKeep);
    await migrate(core.db);
    await checkFieldKey(core);
    await ensureSigningKey(core);
    await sealSettlementAccounts(core);
    await options.beforeListen?.(core);
  } catch (err) {
    await core.db.destroy();
    throw err;
  }
  const scheduler = new Scheduler(core, composeTasks(core));
  await scheduler.register();
  scheduler.start();
  const app = createApp(core, { logRequests: options.logRequests ?? true });
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const unmark = isPostgres(core.db) ? () => undefined : markServing(path.resolve(config.databaseUrl));
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let stopped = false;
  const running: Running = {
    url: `http://${host}:${port}`,
    core,
    server,
    scheduler,
    async watchFieldKey() {
      if (stopped) return false;
      // A database that cannot be reached this minute is not a changed key: the next minute asks again.
      if (await fieldKeyStillMatches(core).catch(() => true)) return true;
      log('error', '字段加密密钥已被更换（ykt rotate-key）：本实例仍在使用旧密钥，已停止服务，以免写入无法读取的数据。请用新的 YKT_SECRET_KEY 重新启动。');
      await running.stop();
      options.onFieldKeyChanged?.();
      return false;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(keyWatch);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await scheduler.stop();
      await core.db.destroy();
      unmark();
    },
  };
  const keyWatch = setInterval(() => void running.watchFieldKey(), KEY_WATCH_MS);
  keyWatch.unref();
  return running;
}
