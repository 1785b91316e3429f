// Landed migrations are never edited (docs/migrations.md): each is recorded with its SHA-256 in
// migrations/checksums.json, and a change goes into a new migration file instead.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MANIFEST_NAME, MIGRATIONS_DIR, checkMigrations, readManifest, sealMigrations } from '../../scripts/migration-checksums.ts';
import { MIGRATION_FILE } from '../../src/core/db.ts';

describe('landed migrations', () => {
  it('every migration is recorded and unchanged since it landed', () => {
    const problems = checkMigrations(MIGRATIONS_DIR);
    expect(problems, problems.join('\n')).toEqual([]);
    expect(Object.keys(readManifest(MIGRATIONS_DIR).sha256)).toContain('20261123000001_core_foundation.ts');
  });

  it('every .ts file in migrations/ is named so that the migrator runs it', () => {
    const misnamed = fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.ts') && !MIGRATION_FILE.test(f));
    expect(misnamed, 'name migrations <14-digit timestamp>_<module>_<change>.ts').toEqual([]);
  });
});

describe('the checksum check and `npm run migrations:seal`, on a scratch directory', () => {
  let dir = '';
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const scratch = () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ykt-migrations-'));
    write('20260101000001_core_a.ts', 'export const a = 1;\n');
    write('20260101000002_core_b.ts', 'export const b = 2;\n');
    return sealMigrations(dir);
  };
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('seals new files, and then finds nothing wrong; line endings do not count', () => {
    expect(scratch()).toEqual({ added: ['20260101000001_core_a.ts', '20260101000002_core_b.ts'], problems: [] });
    write('20260101000001_core_a.ts', 'export const a = 1;\r\n');
    expect(checkMigrations(dir)).toEqual([]);
  });

  it('an edited landed migration fails and says to write a new one', () => {
    scratch();
    write('20260101000001_core_a.ts', 'export const a = 10;\n');
    expect(checkMigrations(dir)).toEqual([
      'migrations/20260101000001_core_a.ts has landed and was edited since: undo the edit and put the change in a new migration file (<timestamp>_<module>_<change>.ts, one change each).',
    ]);
  });

  it('a removed landed migration fails', () => {
    scratch();
    fs.rmSync(path.join(dir, '20260101000002_core_b.ts'));
    expect(checkMigrations(dir)).toEqual([
      `migrations/20260101000002_core_b.ts has landed (it is in migrations/${MANIFEST_NAME}) but is missing: restore it; to undo what it did, add a new migration.`,
    ]);
  });

  it('a new migration fails until it is sealed; sealing appends it and never rewrites an existing entry', () => {
    scratch();
    const before = readManifest(dir).sha256;
    write('20260101000003_core_c.ts', 'export const c = 3;\n');
    write('20260101000001_core_a.ts', 'export const a = 10;\n');
    expect(checkMigrations(dir)).toContain('migrations/20260101000003_core_c.ts is not in migrations/checksums.json: when it is final, run `npm run migrations:seal` to add it.');

    const { added, problems } = sealMigrations(dir);
    expect(added).toEqual(['20260101000003_core_c.ts']);
    // The edited landed file keeps its recorded checksum, so it still fails.
    expect(problems).toEqual([expect.stringContaining('migrations/20260101000001_core_a.ts has landed and was edited since')]);
    const after = readManifest(dir).sha256;
    expect(Object.keys(after)).toEqual([...Object.keys(before), '20260101000003_core_c.ts']);
    expect(after['20260101000001_core_a.ts']).toBe(before['20260101000001_core_a.ts']);
  });
});
