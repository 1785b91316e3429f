import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDb } from '../../src/core/db.ts';
import { TEST_SECRET } from '../factories.ts';
import { ykt } from './ykt.ts';

/** Backups that restore (issue 19 item 3), as county IT runs them: `ykt backup`, damage, `ykt restore`, `ykt verify-audit`. */
let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ykt backup and ykt restore', () => {
  it('restores a damaged database from its backup, checked by its SM3, refused while served or when the copy was altered', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-restore-'));
    const env = { YKT_DATA_DIR: dir, YKT_SECRET_KEY: TEST_SECRET };
    const database = path.join(dir, 'ykt.sqlite');
    expect(ykt(['create-admin', '--username', 'itadmin', '--name', '县信息中心', '--region', '江川省/临山市/青禾县'], env).code).toBe(0);
    expect(ykt(['verify-audit'], env).code).toBe(0);

    const backup = ykt(['backup'], env);
    expect(backup.err).toBe('');
    expect(backup.code).toBe(0);
    const file = /已备份到 (\S+\.sqlite)/.exec(backup.out)![1]!;
    const manifest = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
    expect(backup.out).toContain(`SM3：${manifest.sm3}`);
    expect(manifest).toMatchObject({ format: 'ykt-backup/1', file: path.basename(file), reason: 'manual', migration: expect.stringMatching(/^\d{14}_/), audit: { lastId: 1, count: 1 } });

    // Damage after the backup: a user changed and the audit log altered behind the application's back.
    const db = createDb(database);
    await db('core_user').where({ username: 'itadmin' }).update({ display_name: '被改动' });
    await db.raw('DROP TRIGGER core_audit_no_update');
    await db('core_audit').update({ summary: '{}' });
    await db.destroy();
    expect(ykt(['verify-audit'], env).code).toBe(1);

    // A copy altered by one byte is refused, and the database stays as it was.
    const altered = path.join(dir, 'altered.sqlite');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(altered, bytes);
    fs.copyFileSync(`${file}.json`, `${altered}.json`);
    const refused = ykt(['restore', altered], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('与校验文件记录的');
    expect(refused.err).toContain('未恢复');

    // While a server uses the database, nothing is replaced (the mark names a live process: this one).
    fs.writeFileSync(`${database}.serving`, `${process.pid}\n`);
    const busy = ykt(['restore', file], env);
    expect(busy.code).toBe(1);
    expect(busy.err).toContain(`服务正在使用数据库 ${database}（进程 ${process.pid}）`);
    // A mark left by a server that is gone (killed) is no obstacle.
    fs.writeFileSync(`${database}.serving`, '999999999\n');

    const restored = ykt(['restore', file], env);
    expect(restored.err).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.out).toContain('审计日志完整：已校验 1 条记录，末条与备份时记下的一致');
    const aside = /原数据库已另存为 (\S+)/.exec(restored.out)![1]!;
    expect(fs.existsSync(aside)).toBe(true);
    expect(restored.out).toContain('原锚点文件已另存为');

    const after = createDb(database);
    expect((await after('core_user').where({ username: 'itadmin' }).first()).display_name).toBe('县信息中心');
    await after.destroy();
    const verified = ykt(['verify-audit'], env);
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('审计日志完整：已校验 1 条记录');
  });
});
