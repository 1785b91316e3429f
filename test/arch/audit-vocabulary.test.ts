// The audit log reads every row: each action code the code can write has a Chinese label,
// and each kind of object it names has a Chinese name. The codes are collected from the source, so that a new
// recordAudit call without a label fails here, with where it is.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeAuditLexicon } from '../../src/app.ts';
import type { AuditLexicon } from '../../src/core/audit-vocabulary.ts';
import { type TestDb, createTestDb } from '../factories.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Written {
  codes: Map<string, string>;
  objectTypes: Map<string, string>;
  unreadable: string[];
}

/** Every action code passed to recordAudit and every objectType literal, in src/ and seeds/, with where it is. */
function writtenBySource(): Written {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const files = config.fileNames.filter((f) => /\/(src|seeds)\//.test(f));
  const program = ts.createProgram(files, config.options);
  const checker = program.getTypeChecker();
  const written: Written = { codes: new Map(), objectTypes: new Map(), unreadable: [] };

  const where = (node: ts.Node) => {
    const source = node.getSourceFile();
    return `${path.relative(root, source.fileName)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  const literals = (type: ts.Type): string[] | null => {
    const parts = type.isUnion() ? type.types : [type];
    return parts.every((t) => t.isStringLiteral()) ? parts.map((t) => (t as ts.StringLiteralType).value) : null;
  };
  const propertyOf = (object: ts.Expression | undefined, name: string) =>
    object && ts.isObjectLiteralExpression(object)
      ? object.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === name)?.initializer
      : undefined;

  /**
   * The values a template's `${…}` can take: its type when that is a union of string literals; for `input.x` where
   * `input` is a parameter of the enclosing function, the literal `x` of each call of that function in the file.
   */
  function spanValues(expression: ts.Expression): string[] | null {
    const typed = literals(checker.getTypeAtLocation(expression));
    if (typed) return typed;
    if (!ts.isPropertyAccessExpression(expression) || !ts.isIdentifier(expression.expression)) return null;
    let fn: ts.Node | undefined = expression.parent;
    while (fn && !ts.isFunctionDeclaration(fn)) fn = fn.parent;
    if (!fn || !ts.isFunctionDeclaration(fn) || !fn.name) return null;
    const index = fn.parameters.findIndex((p) => p.name.getText() === (expression.expression as ts.Identifier).text);
    if (index < 0) return null;
    const values: string[] = [];
    const visitCalls = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === fn.name!.text) {
        const value = propertyOf(node.arguments[index], expression.name.text);
        const found = value ? literals(checker.getTypeAtLocation(value)) : null;
        if (found) values.push(...found);
      }
      node.forEachChild(visitCalls);
    };
    visitCalls(fn.getSourceFile());
    return values.length ? values : null;
  }

  function codesOf(expression: ts.Expression): string[] | null {
    if (ts.isStringLiteralLike(expression)) return [expression.text];
    if (ts.isConditionalExpression(expression)) {
      const [a, b] = [codesOf(expression.whenTrue), codesOf(expression.whenFalse)];
      return a && b ? [...a, ...b] : null;
    }
    if (ts.isTemplateExpression(expression)) {
      let codes = [expression.head.text];
      for (const span of expression.templateSpans) {
        const values = spanValues(span.expression);
        if (!values) return null;
        codes = codes.flatMap((prefix) => values.map((v) => prefix + v + span.literal.text));
      }
      return codes;
    }
    return null;
  }

  for (const source of program.getSourceFiles()) {
    if (!files.includes(source.fileName)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'recordAudit') {
        const action = propertyOf(node.arguments[2], 'action');
        const codes = action ? codesOf(action) : null;
        if (codes) for (const code of codes) written.codes.set(code, where(node));
        else written.unreadable.push(where(node));
      }
      if (ts.isPropertyAssignment(node) && node.name.getText() === 'objectType' && ts.isStringLiteralLike(node.initializer)) {
        written.objectTypes.set(node.initializer.text, where(node));
      }
      node.forEachChild(visit);
    };
    visit(source);
  }
  return written;
}

describe('the audit vocabulary', () => {
  let t: TestDb;
  let lexicon: AuditLexicon;
  let written: Written;
  beforeAll(async () => {
    t = await createTestDb({ migrate: false });
    lexicon = composeAuditLexicon(t.core);
    written = writtenBySource();
  });
  afterAll(() => t.cleanup());

  it('reads the action code of every recordAudit call', () => {
    expect(written.unreadable, 'write the action as a literal, or build it from a union of literal types').toEqual([]);
    expect(written.codes.has('login.success') && written.codes.has('batch.roster.approve') && written.codes.has('bank.failure.verify')).toBe(true);
  });

  it('has a Chinese label for every action code the code can write, and none for codes nothing writes', () => {
    const unlabelled = [...written.codes].filter(([code]) => !lexicon.has(code)).map(([code, at]) => `${code} (${at})`);
    expect(unlabelled, "add them to the writing module's audit-labels.ts (core: src/core/audit-labels.ts)").toEqual([]);
    expect(lexicon.codes().filter((code) => !written.codes.has(code))).toEqual([]);
    for (const code of lexicon.codes()) expect(lexicon.label(code), code).toMatch(/\p{Script=Han}/u);
  });

  it('has a Chinese name for every kind of object the code names', () => {
    const unnamed = [...written.objectTypes].filter(([type]) => !lexicon.hasKind(type)).map(([type, at]) => `${type} (${at})`);
    expect(unnamed).toEqual([]);
  });

  it('turns summaries into sentences without numbers of people or accounts, and never shows JSON', () => {
    expect(lexicon.sentence('beneficiary.change.request', JSON.stringify({ request: 7, change: '更换发放账户为 青禾农商银行社会保障卡 ****1234', reason: '旧卡 6222021234567890123 挂失' }))).toBe(
      '变更申请 #7，更换发放账户为 青禾农商银行社会保障卡，原因：旧卡 挂失',
    );
    expect(lexicon.sentence('beneficiary.register', JSON.stringify({ name: '张*三', id: '110105********002X', village: '东关村', relation: 'head', converted15: false, account: '社会保障卡 ****1234' }))).toBe(
      '东关村的 张*三（户主），同时登记了发放账户',
    );
    expect(lexicon.sentence('batch.roster.approve', JSON.stringify({ round: 3, from: 'submitted', to: 'approved', reason: null, publicity: null }))).toBe(
      '发放批次 #3的清册由“待主管部门审核”转为“审核通过，待公示”',
    );
    expect(lexicon.sentence('user.update', JSON.stringify({ before: { name: '张三', roles: ['乡镇经办站所'], region: '城关镇', org: null, disabled: false }, after: { username: 'zs', name: '张三', roles: ['乡镇财政所'], region: '城关镇', org: null, disabled: true } }))).toBe(
      '角色由“乡镇经办站所”改为“乡镇财政所”；状态由“正常”改为“停用”',
    );
    expect(lexicon.sentence('settings.update', JSON.stringify({ 'deadline.failure_correction.days': { before: null, after: '12' } }))).toBe('“发放失败核实修正”时限由默认的 10 个工作日改为 12 个工作日');
    expect(lexicon.sentence('deadline.open', JSON.stringify({ rule: 'batch_check', object: 'batch_check:roster:12', due_on: '2026-12-08', warning: null }))).toBe('清册 #12的“清册复核比对”开始计时，2026-12-08 到期');
    expect(lexicon.sentence('deadline.overdue', JSON.stringify({ rule: 'batch_check', object: 'roster:12', due_on: '2026-12-08' }))).toBe('清册 #12的“清册复核比对”已超过到期日 2026-12-08，已提醒责任人和监督人员');
    expect(lexicon.sentence('access.denied', JSON.stringify({ reason: 'out_of_scope' }))).toBe('原因：不在其管辖范围内');
    expect(lexicon.sentence('region.create', JSON.stringify({ after: { name: '东关村', level: 'village', parent: '城关镇' } }))).toBe('在城关镇下新增村（社区）“东关村”');
    // A row written in an older or unknown shape still reads, as a sentence or as nothing.
    expect(lexicon.sentence('batch.round.submit', '{"unexpected":{"x":1}}')).toBe('批次由“”转为“”');
    expect(lexicon.sentence('logout', '{"a":1}')).toBe('');
    expect(lexicon.label('no.such.action')).toBe('未登记的操作（no.such.action）');
  });
});
