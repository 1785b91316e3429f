import fs from 'node:fs';

/**
 * The peak resident memory (RSS) of a bench step that runs in the bench's own process: process.memoryUsage().rss
 * sampled every SAMPLE_MS while the step runs, and once at its start and end. It is the whole process's memory —
 * the loaded code, the demo county's connections, whatever the steps before left in V8's heap — at its highest
 * during the step, not the step's own share (the two imports run in a child process for that: peakOfProcess).
 * The timer fires between the step's awaits: a peak inside a long synchronous stretch, or shorter than the
 * interval, can be missed.
 */
const SAMPLE_MS = 20;
const MB = 1024 * 1024;

/** Run the step; its result and the process's peak RSS meanwhile, in MB. */
export async function withPeakRss<T>(step: () => Promise<T>): Promise<{ result: T; peakRssMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, SAMPLE_MS);
  try {
    const result = await step();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, peakRssMb: Math.round((peak / MB) * 10) / 10 };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The peak RSS of this whole process so far (the kernel's count, not sampled), in MB: what a child step reports.
 * Linux's VmHWM, the high-water mark of this program's own memory: getrusage's maxRSS survives exec and so starts
 * from the parent's size at the fork (a child of the bench's 500 MB process reported 570 MB for a 255 MB import).
 */
export function peakOfProcess(): number {
  const hwm = fs.existsSync('/proc/self/status') ? /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8')) : null;
  return Math.round((Number(hwm?.[1] ?? process.resourceUsage().maxRSS) / 1024) * 10) / 10;
}
