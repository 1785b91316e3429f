import { scrubPersonalData } from './mask.ts';

/** One JSON line per event on stdout (errors on stderr). Personal data is masked before anything is written. */
export function log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
  const line = scrubPersonalData(JSON.stringify({ t: new Date().toISOString(), level, message, ...fields }));
  (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
}
