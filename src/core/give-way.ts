import { AsyncLocalStorage } from 'node:async_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Middleware } from 'koa';

/**
 * Page views before bulk work. A bulk step (the checks of every roster of a 500,000-line round at its release, …)
 * runs in the same process as the pages and turns hundreds of thousands of rows into objects on the one event
 * loop. Between its pieces it gives way (`giveWay`) while other requests are being answered, so that a page view
 * waits behind at most one piece of it rather than sharing the event loop with it evenly (issue 18: the home pages'
 * p95 while a round is released).
 */
let answering = 0;
/** Resolved when no other request is being answered. */
let waiting: (() => void)[] = [];
const insideRequest = new AsyncLocalStorage<true>();

/** Counts the requests being answered (mounted first). */
export function countRequests(): Middleware {
  return async (_ctx, next) => {
    answering++;
    try {
      await insideRequest.run(true, next);
    } finally {
      answering--;
      if (answering === 0) for (const resume of waiting.splice(0)) resume();
    }
  };
}

/**
 * Between two pieces of bulk work: let what is queued on the event loop run, then wait while other requests are
 * being answered, at most `maxMs` (so that the work goes on under a steady load). The request that runs the bulk
 * step is not counted against itself.
 */
export async function giveWay(maxMs = 30): Promise<void> {
  await nextTurn();
  const others = answering - (insideRequest.getStore() ? 1 : 0);
  if (others <= 0) return;
  await new Promise<void>((resolve) => {
    const resume = () => {
      clearTimeout(timer);
      waiting = waiting.filter((w) => w !== resume);
      resolve();
    };
    const timer = setTimeout(resume, maxMs);
    waiting.push(resume);
  });
}
