import crypto from 'node:crypto';
import os from 'node:os';
import { Cron } from 'croner';
import type { Actor } from './auth/roles.ts';
import { hasRole } from './auth/roles.ts';
import { recordAudit } from './audit.ts';
import type { Core } from './context.ts';
import { BUSINESS_TIME_ZONE } from './dates.ts';
import { type Conn, inTransaction, nowIso } from './db.ts';
import { ForbiddenError, NotFoundError } from './errors.ts';
import { log } from './log.ts';

/**
 * The scheduler inside the one Koa process. Tasks are rows in core_task (schedule, next run, last run and
 * result, lock owner), so a restart or a night the machine was off catches up: a task whose next run is in
 * the past runs once at the next tick. Several instances on PostgreSQL share the table; a task runs on exactly
 * one of them, the one whose conditional UPDATE takes the lease. A failing task is logged, shown on the
 * administrator's page and retried with backoff (1, 2, 4 … minutes, at most an hour, never later than its
 * next regular run).
 */
export interface TaskContext {
  core: Core;
  /** What the task kept from its last successful run (JSON), and a way to keep something for the next. */
  state: unknown;
  setState(state: unknown): void;
}

export interface TaskDefinition {
  name: string;
  /** Chinese name for the administrator's page. */
  label: string;
  /** Cron expression in Asia/Shanghai. */
  schedule: string;
  /** Does the work; returns a one-line result in Chinese. Throws on failure. */
  run(ctx: TaskContext): Promise<string>;
}

export interface TaskRow {
  name: string;
  schedule: string;
  enabled: boolean;
  next_run_at: string;
  last_run_at: string | null;
  last_status: 'ok' | 'error' | null;
  last_result: string | null;
  last_duration_ms: number | null;
  failures: number;
  state: string | null;
  lock_owner: string | null;
  lock_until: string | null;
}

const MAX_BACKOFF_MS = 3_600_000;

export function nextRunAfter(schedule: string, from: Date): Date {
  const next = new Cron(schedule, { timezone: BUSINESS_TIME_ZONE, paused: true }).nextRun(from);
  if (!next) throw new Error(`schedule ${schedule} has no next run`);
  return next;
}

export class Scheduler {
  readonly owner: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly byName: Map<string, TaskDefinition>;

  constructor(
    private readonly core: Core,
    readonly tasks: TaskDefinition[],
    private readonly options: { tickMs?: number; leaseMs?: number; owner?: string } = {},
  ) {
    this.owner = options.owner ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
    this.byName = new Map(tasks.map((t) => [t.name, t]));
  }

  /** Insert rows for new tasks; follow a changed schedule. Idempotent, safe with several instances. */
  async register(now = new Date()): Promise<void> {
    for (const task of this.tasks) {
      const next = nextRunAfter(task.schedule, now).toISOString();
      const row = await this.core.db('core_task').where({ name: task.name }).first('schedule');
      if (!row) {
        await this.core.db('core_task').insert({ name: task.name, schedule: task.schedule, next_run_at: next }).onConflict('name').ignore();
      } else if (row.schedule !== task.schedule) {
        await this.core.db('core_task').where({ name: task.name }).update({ schedule: task.schedule, next_run_at: next });
      }
    }
  }

  /** Run every task that is due and whose lease this instance takes. Returns the names it ran. */
  async tick(now = new Date()): Promise<string[]> {
    const due: { name: string }[] = await this.core.db('core_task')
      .where('enabled', true)
      .where('next_run_at', '<=', now.toISOString())
      .whereIn('name', [...this.byName.keys()])
      .orderBy('next_run_at')
      .select('name');
    const ran: string[] = [];
    for (const { name } of due) {
      if (await this.claim(name, now)) {
        await this.execute(this.byName.get(name)!);
        ran.push(name);
      }
    }
    return ran;
  }

  /** Take the task's lease: one conditional UPDATE, so that among several instances exactly one wins. */
  private async claim(name: string, now: Date): Promise<boolean> {
    const iso = now.toISOString();
    const updated = await this.core.db('core_task')
      .where({ name, enabled: true })
      .where('next_run_at', '<=', iso)
      .andWhere((q) => q.whereNull('lock_until').orWhere('lock_until', '<', iso))
      .update({ lock_owner: this.owner, lock_until: new Date(now.getTime() + (this.options.leaseMs ?? 30 * 60_000)).toISOString() });
    return updated === 1;
  }

  private async execute(task: TaskDefinition): Promise<void> {
    const row = (await this.core.db('core_task').where({ name: task.name }).first()) as TaskRow;
    let state: unknown = row.state ? JSON.parse(row.state) : null;
    const started = Date.now();
    let status: 'ok' | 'error' = 'ok';
    let result: string;
    try {
      result = await task.run({ core: this.core, state, setState: (s) => (state = s) });
    } catch (err) {
      status = 'error';
      result = err instanceof Error ? err.message : String(err);
      log('error', 'task failed', { task: task.name, failures: row.failures + 1, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
    const finished = new Date();
    const regular = nextRunAfter(task.schedule, finished);
    const failures = status === 'ok' ? 0 : row.failures + 1;
    const retry = new Date(finished.getTime() + Math.min(60_000 * 2 ** (failures - 1), MAX_BACKOFF_MS));
    await this.core.db('core_task')
      .where({ name: task.name, lock_owner: this.owner })
      .update({
        last_run_at: finished.toISOString(),
        last_status: status,
        last_result: result.slice(0, 2000),
        last_duration_ms: finished.getTime() - started,
        failures,
        state: status === 'ok' ? JSON.stringify(state) : row.state,
        next_run_at: (status === 'ok' || regular < retry ? regular : retry).toISOString(),
        lock_owner: null,
        lock_until: null,
      });
  }

  start(): void {
    if (this.timer) return;
    const loop = () => {
      this.running ??= this.tick()
        .then(() => undefined, (err) => log('error', 'scheduler tick failed', { error: err instanceof Error ? err.message : String(err) }))
        .finally(() => {
          this.running = null;
        });
    };
    this.timer = setInterval(loop, this.options.tickMs ?? 15_000);
    this.timer.unref();
    loop();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

export async function listTasks(db: Conn): Promise<TaskRow[]> {
  return db('core_task').orderBy('name');
}

/** The administrator's "run now": the task becomes due at once and runs at the next tick. Audited. */
export async function requestTaskRun(core: Core, actor: Actor, name: string): Promise<void> {
  if (!hasRole(actor, 'admin')) throw new ForbiddenError('只有系统管理员可以运行计划任务');
  await inTransaction(core.db, async (trx) => {
    const updated = await trx('core_task').where({ name }).update({ next_run_at: nowIso() });
    if (updated !== 1) throw new NotFoundError('计划任务不存在');
    await recordAudit(trx, actor, { action: 'task.run_now', objectType: 'task', objectId: name });
  });
}
