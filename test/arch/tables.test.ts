// Table ownership (docs/architecture.md, "Architecture"): a module owns the tables named with its prefix and core owns the
// `core_` tables; no module names another module's table. It calls that module's index.ts instead.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtureRoot = fileURLToPath(new URL('./fixture/', import.meta.url));
const migrationsDir = path.join(root, 'migrations');

/** The modules (docs/architecture.md's, and agreement), which are also the table prefixes; `core` owns the `core_` tables. */
const MODULES = ['policy', 'beneficiary', 'agreement', 'batch', 'bank', 'publicity', 'supervision'] as const;
const OWNERS = ['core', ...MODULES];

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/**
 * Every table the migrations' `up` functions create (`createTable('x')`) or rename to (`renameTable('a', 'x')`), in
 * order, with its migration and, for a rename, the table's former name. (`down` undoes them and is not read.)
 */
function migrationTables(): { table: string; migration: string; renamedFrom?: string }[] {
  const tables: { table: string; migration: string; renamedFrom?: string }[] = [];
  for (const migration of fs.readdirSync(migrationsDir).filter((f) => f.endsWith('.ts')).sort()) {
    const up = parse(path.join(migrationsDir, migration)).statements.find((s) => ts.isFunctionDeclaration(s) && s.name?.text === 'up');
    if (!up) continue;
    walk(up, (node) => {
      if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return;
      const method = node.expression.name.text;
      const [first, second] = node.arguments;
      if (method === 'renameTable' && first && second && ts.isStringLiteralLike(first) && ts.isStringLiteralLike(second)) tables.push({ table: second.text, migration, renamedFrom: first.text });
      else if (/^createTable(IfNotExists)?$/.test(method) && first && ts.isStringLiteralLike(first)) tables.push({ table: first.text, migration });
    });
  }
  return tables;
}

const ownerOf = (table: string) => OWNERS.find((owner) => table.startsWith(`${owner}_`));

/**
 * A string naming the table an id points at, in a county move declaration (a module's move.ts): a `refs` or
 * `objectIds` entry's value, a key of `moveJsonIds({…})`'s argument, the first argument of `ids.of(…)`. Like a
 * migration's foreign key, it names the table without reading or writing it.
 */
function namesIdTarget(node: ts.Node): boolean {
  const parent = node.parent;
  if (ts.isPropertyAssignment(parent) && parent.initializer === node) {
    const holder = parent.parent.parent;
    if (ts.isPropertyAssignment(holder) && ts.isIdentifier(holder.name) && ['refs', 'objectIds'].includes(holder.name.text)) return true;
    if (ts.isCallExpression(holder) && ts.isIdentifier(holder.expression) && holder.expression.text === 'moveJsonIds') return true;
  }
  return ts.isCallExpression(parent) && parent.arguments[0] === node && ts.isPropertyAccessExpression(parent.expression) && parent.expression.name.text === 'of' && ts.isIdentifier(parent.expression.expression) && parent.expression.expression.text === 'ids';
}

/** The text of every string literal and template part in a file, with its line (not those naming an id's table). */
function stringsOf(file: string): { text: string; line: number }[] {
  const source = parse(file);
  const strings: { text: string; line: number }[] = [];
  walk(source, (node) => {
    if ((ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) && !namesIdTarget(node)) {
      strings.push({ text: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
  });
  return strings;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
}

/**
 * Where a module's source names another module's table: in a knex call (`trx('batch_line')`, `.join('…')`), in raw
 * SQL text, anywhere in a string. Names are matched whole, so a column such as `policy_item_id` is not a table.
 */
function foreignTableNames(baseDir: string, tables: Set<string>): string[] {
  const found: string[] = [];
  const modulesDir = path.join(baseDir, 'src/modules');
  for (const module of fs.readdirSync(modulesDir)) {
    for (const file of sourceFiles(path.join(modulesDir, module))) {
      for (const { text, line } of stringsOf(file)) {
        for (const word of text.match(/[a-z][a-z0-9_]*/g) ?? []) {
          const owner = ownerOf(word);
          if (tables.has(word) && owner !== module && owner !== 'core') {
            found.push(`${path.relative(baseDir, file)}:${line} names ${word}, a table of the ${owner} module`);
          }
        }
      }
    }
  }
  return found.sort();
}

describe('table ownership', () => {
  const created = migrationTables();
  /** The tables there are after the last migration: a renamed table goes by its new name only. */
  const tables = new Set<string>();
  for (const { table, renamedFrom } of created) {
    if (renamedFrom) tables.delete(renamedFrom);
    tables.add(table);
  }

  it('the migrations were read, and every table is prefixed by its owner, as the migration that creates it is named', () => {
    expect(tables.has('batch_line') && tables.has('core_audit') && tables.has('agreement_contract') && !tables.has('core_bank_agreement')).toBe(true);
    const misnamed = created
      .filter(({ table, migration }) => ownerOf(table) === undefined || ownerOf(table) !== migration.split('_')[1])
      .map(({ table, migration }) => `${migration} creates ${table}`);
    expect(misnamed, `tables are named <owner>_…, created by a migration <timestamp>_<owner>_<change>.ts`).toEqual([]);
  });

  it("no module's source names another module's table", () => {
    const found = foreignTableNames(root, tables);
    expect(found, `call the owning module's index.ts instead:\n  ${found.join('\n  ')}`).toEqual([]);
  });

  it('the check fires on the fixture: a knex call and raw SQL naming other modules\' tables, and only those', () => {
    expect(foreignTableNames(fixtureRoot, tables)).toEqual([
      'src/modules/bank/queries.ts:13 names batch_line, a table of the batch module',
      'src/modules/bank/queries.ts:15 names beneficiary_person, a table of the beneficiary module',
    ]);
  });
});
