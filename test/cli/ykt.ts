import { spawnSync } from 'node:child_process';

/** The `ykt` command as county IT runs it: a child process with only PATH and the given settings. */
export function ykt(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, ['bin/ykt.js', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, YKT_SCRYPT_LOG_N: '10', ...env },
    timeout: 180_000,
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}
