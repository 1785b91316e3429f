import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { countRequests, giveWay } from '../../src/core/give-way.ts';

/** A server whose requests stay open until released; `bulk` runs as the work of a request of its own. */
async function server(bulk?: () => Promise<void>) {
  const open: (() => void)[] = [];
  const app = new Koa();
  app.use(countRequests());
  app.use(async (ctx) => {
    if (ctx.path === '/bulk') await bulk!();
    else await new Promise<void>((release) => open.push(release));
    ctx.body = 'ok';
  });
  const listening = app.listen(0, '127.0.0.1');
  await new Promise((ready) => listening.once('listening', ready));
  const url = (path: string) => `http://127.0.0.1:${(listening.address() as AddressInfo).port}${path}`;
  const get = (path: string) => new Promise<void>((done, fail) => http.get(url(path), (res) => res.resume().on('end', () => done())).on('error', fail));
  return { open, get, close: () => new Promise<void>((done) => listening.close(() => done())) };
}

/** Turns of the event loop until `cond` holds (a request reaching the handler takes a few). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await nextTurn();
}

let close: (() => Promise<void>) | null = null;

/** A server with one request in its handler, not yet answered. */
async function oneOpenRequest() {
  const s = await server();
  close = s.close;
  const answered = s.get('/page');
  await until(() => s.open.length === 1);
  return { s, answered };
}
afterEach(async () => {
  await close?.();
  close = null;
});

describe('bulk work gives way to the requests being answered (giveWay)', () => {
  it('goes on at once when no request is being answered', async () => {
    let done = false;
    const way = giveWay(60_000).then(() => (done = true));
    for (let i = 0; i < 3 && !done; i++) await nextTurn();
    expect(done).toBe(true);
    await way;
  });

  it('waits while another request is being answered and goes on when it has been answered', async () => {
    const { s, answered } = await oneOpenRequest();
    let done = false;
    const way = giveWay(60_000).then(() => (done = true));
    for (let i = 0; i < 20; i++) await nextTurn();
    expect(done).toBe(false);
    s.open[0]!();
    await way;
    await answered;
  });

  it('goes on after at most its wait under a steady load', async () => {
    const { s, answered } = await oneOpenRequest();
    await giveWay(5);
    s.open[0]!();
    await answered;
  });

  it('does not wait for the request that runs the bulk work', async () => {
    let gaveWay = false;
    const s = await server(async () => {
      await giveWay(60_000);
      gaveWay = true;
    });
    close = s.close;
    await s.get('/bulk');
    expect(gaveWay).toBe(true);
  });
});
