import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.ts';
import type { Core } from '../src/core/context.ts';

/** The application on a loopback port, as `ykt serve` runs it; close() stops it. */
export async function startServer(core: Core): Promise<{ base: string; close: () => void }> {
  const server = http.createServer(createApp(core).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** A browser of one user: logged in through the real form, its cookies kept; get() answers the time in ms. */
export class BenchClient {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) this.cookies.set(c.split('=')[0]!, c.split(';')[0]!);
  }

  private header(): string {
    return [...this.cookies.values()].join('; ');
  }

  async login(username: string, password: string): Promise<this> {
    const form = await fetch(`${this.base}/login`, { redirect: 'manual' });
    this.keep(form);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const res = await fetch(`${this.base}/login`, { method: 'POST', redirect: 'manual', headers: { cookie: this.header(), 'content-type': 'application/x-www-form-urlencoded', origin: this.base }, body: new URLSearchParams({ username, password, _csrf: csrf }) });
    this.keep(res);
    if (res.status !== 303) throw new Error(`login of ${username} answered ${res.status}`);
    return this;
  }

  /** Fetch a page whole; its time in ms. A page that does not answer 200 stops the bench. */
  async get(path: string): Promise<number> {
    const started = process.hrtime.bigint();
    const res = await fetch(`${this.base}${path}`, { headers: { cookie: this.header() } });
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    await res.text();
    return Number(process.hrtime.bigint() - started) / 1e6;
  }
}

/** The p-th percentile (0–100) of the times, nearest rank. */
export function percentile(times: number[], p: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * While `work` runs, `clients` browsers (the demo's roles that log in with a password alone, in turn) ask for their
 * home page again and again, each as soon as the last answered; answers the p95 of those requests, in ms.
 */
export async function homePagesDuring(core: Core, password: string, clients: number, work: () => Promise<unknown>): Promise<number> {
  const users = ['station1', 'finance1', 'dept_agri', 'dept_civil', 'bank', 'supervisor'];
  const server = await startServer(core);
  try {
    // One after another: parallel logins from one address count as failures until they succeed, and the login
    // throttle would refuse the tenth (src/core/auth/throttle.ts).
    const browsers: BenchClient[] = [];
    for (let i = 0; i < clients; i++) browsers.push(await new BenchClient(server.base).login(users[i % users.length]!, password));
    // Each browser's home page once before the work starts (templates compiled, caches warm).
    for (const b of browsers) await b.get('/');
    const times: number[] = [];
    let running = true;
    const loops = browsers.map(async (b) => {
      while (running) times.push(await b.get('/'));
    });
    try {
      await work();
    } finally {
      running = false;
      await Promise.all(loops);
    }
    return percentile(times, 95);
  } finally {
    server.close();
  }
}
