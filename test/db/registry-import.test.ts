import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../src/core/errors.ts';
import { writeTableXlsx } from '../../src/core/spreadsheet.ts';
import { LUHN_WARNING, NOT_UNIONPAY_WARNING, luhnCheckDigit } from '../../src/modules/beneficiary/account-number.ts';
import { decideChange, registerPerson } from '../../src/modules/beneficiary/commands.ts';
import { accountsOf } from '../../src/modules/beneficiary/queries.ts';
import { importRegistry } from '../../src/modules/beneficiary/registry-import.ts';
import { REGISTRY_FILE_HEADER, fakeHouseholds, registryFileRows } from '../../seeds/fake-people.ts';
import { TEST_DB, type TestDb, actorFor, auditRows, confirmNewAccounts, createSeededDb, idNumberFrom, personalNumbers, regionId } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const VILLAGES = ['东关社区', '西街村', '南河村'];
const households = (count: number, seed = 7) => fakeHouseholds({ households: count, villages: VILLAGES, seed, sharedAccounts: 0, secondAccounts: 0 });
const xlsx = (rows: string[][]) => writeTableXlsx('受益对象', REGISTRY_FILE_HEADER, rows);
const csvLine = (cells: string[]) => cells.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
const gb18030Csv = (rows: string[][]) => iconv.encode([REGISTRY_FILE_HEADER, ...rows].map(csvLine).join('\r\n'), 'gb18030');
const utf8Csv = (header: string[], rows: string[][]) => Buffer.from([header, ...rows].map(csvLine).join('\r\n'), 'utf8');

async function counts(db: TestDb) {
  const n = async (table: string) => Number((await db.core.db(table).count({ n: '*' }).first())!.n);
  return { people: await n('beneficiary_person'), households: await n('beneficiary_household'), accounts: await n('beneficiary_account'), requests: await n('beneficiary_change_request'), imports: await n('beneficiary_import'), audit: await n('core_audit') };
}

describe(`registry import (${TEST_DB})`, () => {
  it('imports a township file whole: households linked by the head ID, IDs and accounts encrypted, one audit row; the same file again changes nothing', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const rows = registryFileRows(households(12));
    const file = await xlsx(rows);
    const before = await counts(t);

    const outcome = await importRegistry(t.core, station, { name: '城关镇花名册.xlsx', buffer: file });
    expect(outcome).toMatchObject({ ok: true, repeated: false, rows: rows.length, created: rows.length, updated: 0, unchanged: 0, accountRequests: 0 });
    const after = await counts(t);
    expect(after.people - before.people).toBe(rows.length);
    expect(after.households - before.households).toBe(12);
    expect(after.accounts - before.accounts).toBe(rows.filter((r) => r[8] !== '').length);
    expect(after.audit - before.audit).toBe(1);

    // Every member sits in the household of the head named in their row; the stored ID is ciphertext.
    const people = await t.core.db('beneficiary_person as p').join('beneficiary_household as h', 'h.id', 'p.household_id').join('beneficiary_person as hp', 'hp.id', 'h.head_person_id').join('core_region as v', 'v.id', 'p.village_id').select('p.id_enc', 'hp.id_enc as head_enc', 'v.name as village', 'p.import_id');
    const byId = new Map(people.map((p) => [t!.core.crypto.decrypt(p.id_enc), p]));
    for (const row of rows) {
      const person = byId.get(row[2]!)!;
      expect(t.core.crypto.decrypt(person.head_enc)).toBe(row[4] || row[2]);
      expect(person.village).toBe(row[0]);
      expect(person.id_enc).not.toContain(row[2]!.slice(0, 10));
    }
    const [audit] = await auditRows(t.core, 'beneficiary.import');
    expect(audit.summary).toContain(`"created":${rows.length}`);
    expect(personalNumbers(audit.summary)).toEqual([]);

    const again = await importRegistry(t.core, station, { name: '又一次.xlsx', buffer: file });
    expect(again).toMatchObject({ ok: true, repeated: true, created: rows.length, fileName: '城关镇花名册.xlsx' });
    expect(await counts(t)).toEqual(after);
  });

  it('applies a GB18030 CSV to registered people: name and phone corrected, a new account as a change request the finance office confirms, the rest unchanged', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const rows = registryFileRows(households(5));
    await importRegistry(t.core, station, { name: 'first.xlsx', buffer: await xlsx(rows) });
    await confirmNewAccounts(t); // the new people's accounts, confirmed together by the finance office
    const withAccount = rows.findIndex((r) => r[8] !== '');
    const edited = rows.map((r) => [...r]);
    edited[0]![1] = `${edited[0]![1]}·买买提`; // name as on the ID card now
    edited[0]![9] = edited[0]![8] ? edited[0]![1]! : '';
    edited[1]![5] = '13800000000';
    const newCard = '6239991234567890125';
    edited[withAccount]![8] = newCard;
    const before = await counts(t);

    const outcome = await importRegistry(t.core, station, { name: '更正.csv', buffer: gb18030Csv(edited) });
    const changedRows = new Set([0, 1, withAccount]).size;
    expect(outcome).toMatchObject({ ok: true, created: 0, accountRequests: 1, unchanged: rows.length - changedRows });
    const after = await counts(t);
    expect(after.people).toBe(before.people);
    expect(after.accounts).toBe(before.accounts); // the account waits for confirmation
    expect(after.requests).toBe(before.requests + 1);
    expect((await t.core.db('beneficiary_import').orderBy('id', 'desc').first()).format).toBe('csv');

    const person = (idNumber: string) => t!.core.db('beneficiary_person').where({ id_index: t!.core.crypto.blindIndex('id', idNumber) }).first();
    expect((await person(rows[0]![2]!)).name).toBe(edited[0]![1]);
    expect((await person(rows[1]![2]!)).phone_masked).toBe('138****0000');

    const target = await person(rows[withAccount]![2]!);
    const request = await t.core.db('beneficiary_change_request').where({ person_id: target.id, state: 'pending' }).first();
    expect(request.summary).toContain('****0125');
    await decideChange(t.core, await actorFor(t, 'finance1'), Number(request.id), { approve: true, note: null });
    expect((await accountsOf(t.core.db, Number(target.id))).map((a) => [a.account_last4, a.status])).toEqual([
      ['0125', 'active'],
      [rows[withAccount]![8]!.slice(-4), 'closed'],
    ]);
    // The request is pending no more, and the file asks for what the registry now holds: nothing to do.
    const third = await importRegistry(t.core, station, { name: '再次.csv', buffer: Buffer.concat([gb18030Csv(edited), Buffer.from('\r\n')]) });
    expect(third).toMatchObject({ ok: true, repeated: false, created: 0, updated: 0, accountRequests: 0, unchanged: rows.length });
  });

  it('refuses a file with any bad row, naming every row and field, and saves nothing', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    // Someone already registered in another township (石桥镇), and an account already held by a registered person.
    const shiqiao = await regionId(t, '石桥镇');
    const otherStation = { ...station, regionId: shiqiao, regionPath: (await t.core.db('core_region').where({ id: shiqiao }).first()).path };
    const elsewhere = idNumberFrom('99010219800101003');
    await registerPerson(t.core, otherStation, { name: '钱多多', idNumber: elsewhere, villageId: await regionId(t, '上坪村'), relation: 'head', headPersonId: null, phone: null, account: { kind: 'sscard', bankName: '青禾县农村信用合作联社', number: '6239990000000000018', holderName: '钱多多' } });

    const good = registryFileRows(households(2));
    const head = idNumberFrom('99010219700101001');
    const bad: string[][] = [
      ['西街村', '周一', head, '户主', '', '', '', '', '', ''],
      ['西街村', '周二', head, '配偶', head, '', '', '', '', ''], // same ID twice in the file
      ['北山村', '周三', idNumberFrom('99010219900101005'), '户主', '', '', '', '', '', ''], // no such village
      ['西街村', '周四', '990102199001010051', '户主', '', '', '', '', '', ''], // bad check character
      ['西街村', '周五', idNumberFrom('99010219900101007'), '子女', idNumberFrom('99010219600101009'), '', '', '', '', ''], // head nowhere
      ['西街村', '钱多多', elsewhere, '户主', '', '', '', '', '', ''], // registered in 石桥镇
      ['西街村', '吴六', idNumberFrom('99010219850101001'), '户主', '', '', '社会保障卡', '青禾县农村信用合作联社', '6239990000000000018', '吴六'], // someone else's card
      ['西街村', '郑七', idNumberFrom('99010219850101010'), '户主', '', '1380000', '社会保障卡', '青禾县农村信用合作联社', '6239991234567890125', '郑八'], // phone, holder
      ['西街村', '王九', idNumberFrom('99010219850101029'), '亲戚', '', '', '存折', '', '12345', '王九'], // relation, bank, passbook number
    ];
    const before = await counts(t);
    const outcome = await importRegistry(t.core, station, { name: 'bad.xlsx', buffer: await xlsx([...good, ...bad]) });
    if (outcome.ok) throw new Error('expected the file to be refused');
    const at = (offset: number) => good.length + 2 + offset; // Excel row of bad[offset]: header is row 1
    expect(outcome.errors.map((e) => `${e.rowNumber}|${e.field}|${e.message}`)).toEqual([
      `${at(0)}|身份证号码|身份证号码与第 ${at(1)} 行重复`,
      `${at(1)}|身份证号码|身份证号码与第 ${at(0)} 行重复`,
      `${at(1)}|户主身份证号码|非户主的户主身份证号码不能是本人的`,
      `${at(3)}|身份证号码|身份证号码校验位不正确（可能有数字录入错误）`,
      `${at(7)}|手机号码|手机号码应为 11 位数字`,
      `${at(7)}|户名|户名「郑八」与姓名不一致：补贴只能发放到本人账户，不得使用他人账户`,
      `${at(8)}|与户主关系|「亲戚」无法识别：应为「户主」「配偶」「子女」「父母」「孙子女」「其他」之一，或户口簿上的写法（如妻、长子、女儿、母亲、孙女、儿媳、兄，见导入格式说明）`,
      `${at(8)}|开户机构|填写账号时不能为空`,
      `${at(8)}|账号|存折账号应为 8–25 位数字，当前为 5 位`,
    ]);
    // The report: the bad rows as submitted, each with its reasons.
    const report = new ExcelJS.Workbook();
    await report.xlsx.load(outcome.report as never);
    const sheet = report.worksheets[0]!;
    expect(String(sheet.getCell(1, 1).value)).toContain('5 行有误，共 9 处');
    expect(sheet.getRow(2).values).toEqual([undefined, ...REGISTRY_FILE_HEADER, '错误原因']);
    expect(sheet.getRow(3).getCell(2).value).toBe('周一');
    expect(sheet.getRow(3).getCell(11).value).toBe(`第 ${at(0)} 行「身份证号码」：身份证号码与第 ${at(1)} 行重复`);
    expect(await counts(t)).toEqual(before);

    // The file-level errors fixed, the registry's own checks speak: village, missing head, other township, shared card.
    const secondRound = bad.filter((_, i) => [2, 4, 5, 6].includes(i));
    const refused = await importRegistry(t.core, station, { name: 'bad2.xlsx', buffer: await xlsx([...good, ...secondRound]) });
    if (refused.ok) throw new Error('expected the file to be refused');
    const messages = refused.errors.map((e) => `${e.rowNumber}|${e.field}|${e.message}`);
    const row = (i: number) => good.length + 2 + i;
    expect(messages).toEqual([
      `${row(0)}|村（社区）|本乡镇（城关镇）没有名为「北山村」的村（社区）`,
      `${row(1)}|户主身份证号码|文件和登记中都没有这位户主：请把户主一并列入文件`,
      `${row(2)}|身份证号码|此人已登记在石桥镇上坪村，一人只能登记一次；迁入本乡镇的须由原乡镇先办理迁出`,
      `${row(3)}|账号|该账号已是另一位受益对象（钱*多）的发放账户：一人一卡，不得共用`,
    ]);
    expect(await counts(t)).toEqual(before);
  });

  it('reads a county\'s own sheet as the template: its column names (公民身份号码, 行政村, 开户行 …), relations as a household register writes them, 社保卡 and 借记卡; without a 户名 column the account is in the person\'s name', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const head = idNumberFrom('99010219700101001');
    const card = (prefix: string) => `${prefix}${luhnCheckDigit(prefix)}`;
    const people: [string, string, string][] = [
      ['周一', head, '户主'],
      ['周二', idNumberFrom('99010219720202002'), '妻'],
      ['周三', idNumberFrom('99010219950303003'), '儿子'],
      ['周四', idNumberFrom('99010219970404004'), '长女'],
      ['周五', idNumberFrom('99010219450505006'), '母亲'],
      ['周六', idNumberFrom('99010219960606008'), '儿媳'],
      ['周七', idNumberFrom('99010220200707007'), '孙子'],
      ['周八', idNumberFrom('99010219800808008'), '妹妹'],
    ];
    const file = utf8Csv(
      ['序号', '行政村', '姓名', '公民身份号码', '与户主的关系', '户主身份证号', '联系电话', '账户类型', '开户行', '银行卡号'],
      people.map(([name, id, relation], i) => [String(i + 1), '西街村', name, id, relation, i === 0 ? '' : head, i === 0 ? '13800000000' : '', ['社保卡', '借记卡', '一折通', '社会保障卡'][i % 4]!, '青禾县农村信用合作联社', i % 4 === 2 ? `10${i}2003004005` : card(`62399912345678${i}01`)]),
    );
    const outcome = await importRegistry(t.core, station, { name: '县里的表.csv', buffer: file });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    expect(outcome).toMatchObject({ created: people.length });
    const stored = await t.core.db('beneficiary_person as p').leftJoin('beneficiary_account as a', 'a.person_id', 'p.id').join('core_region as v', 'v.id', 'p.village_id').where('p.import_id', outcome.importId).orderBy('p.id').select('p.name', 'p.relation', 'p.phone_enc', 'v.name as village', 'a.kind', 'a.bank_name', 'a.holder_name');
    expect(stored.map((p) => [p.name, p.relation, p.village, p.kind, p.bank_name, p.holder_name])).toEqual([
      ['周一', 'head', '西街村', 'sscard', '青禾县农村信用合作联社', '周一'],
      ['周二', 'spouse', '西街村', 'bankcard', '青禾县农村信用合作联社', '周二'],
      ['周三', 'child', '西街村', 'passbook', '青禾县农村信用合作联社', '周三'],
      ['周四', 'child', '西街村', 'sscard', '青禾县农村信用合作联社', '周四'],
      ['周五', 'parent', '西街村', 'sscard', '青禾县农村信用合作联社', '周五'],
      ['周六', 'other', '西街村', 'bankcard', '青禾县农村信用合作联社', '周六'],
      ['周七', 'grandchild', '西街村', 'passbook', '青禾县农村信用合作联社', '周七'],
      ['周八', 'other', '西街村', 'sscard', '青禾县农村信用合作联社', '周八'],
    ]);
    expect(t.core.crypto.decrypt(stored[0]!.phone_enc)).toBe('13800000000');
    const members = await t.core.db('beneficiary_person').where('import_id', outcome.importId).distinct('household_id');
    expect(members).toHaveLength(1);

    // A value no register writes is refused, naming the row and what is accepted; so is an unknown account kind.
    const refused = await importRegistry(t.core, station, {
      name: '再一份.csv',
      buffer: utf8Csv(['行政村', '姓名', '公民身份号码', '与户主关系', '户主身份证号码', '账户类型', '开户行', '账号'], [
        ['西街村', '吴一', idNumberFrom('99010219850101001'), '户主', '', '', '', ''],
        ['西街村', '吴二', idNumberFrom('99010219870101002'), '干女儿', idNumberFrom('99010219850101001'), '信用卡', '某银行', card('623999123456789')],
      ]),
    });
    if (refused.ok) throw new Error('expected the file to be refused');
    expect(refused.errors.map((e) => `${e.rowNumber}|${e.field}|${e.message}`)).toEqual([
      '3|与户主关系|「干女儿」无法识别：应为「户主」「配偶」「子女」「父母」「孙子女」「其他」之一，或户口簿上的写法（如妻、长子、女儿、母亲、孙女、儿媳、兄，见导入格式说明）',
      '3|账户类型|「信用卡」无法识别：应为「社会保障卡」「银行卡」「存折」之一（社保卡、借记卡、一折通等写法也可，见导入格式说明）',
    ]);
  });

  it('tells the clerk when Excel has turned an ID number into a number and lost its last digits', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const id = idNumberFrom('99010219700101001');
    const file = await writeTableXlsx('受益对象', REGISTRY_FILE_HEADER, [['西街村', '周一', Number(id.slice(0, 17)) * 10 + 3, '户主', '', '', '', '', '', '']] as never);
    const outcome = await importRegistry(t.core, station, { name: 'numbers.xlsx', buffer: file });
    if (outcome.ok) throw new Error('expected the file to be refused');
    expect(outcome.errors).toEqual([{ rowNumber: 2, field: '身份证号码', message: expect.stringContaining('被 Excel 存成了数字') }]);
  });

  it('refuses, naming the cause in each row: a number in scientific notation, one digit repeated, the holder\'s own ID number as the account, a 乡镇 other than the importing township', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const [d, e, f] = ['99010219800101011', '99010219800101021', '99010219800101031'].map(idNumberFrom);
    const file = utf8Csv(
      [...REGISTRY_FILE_HEADER, '乡镇'],
      [
        ['西街村', '周一', '9.90102E+17', '户主', '', '', '', '', '', '', ''],
        ['西街村', '周二', d!, '户主', '', '', '存折', '青禾县农村信用合作联社', '00000000', '周二', ''],
        ['西街村', '周三', e!, '户主', '', '', '存折', '青禾县农村信用合作联社', e!, '周三', '城关镇'],
        ['西街村', '周四', f!, '户主', '', '', '', '', '', '', '石桥镇'],
      ],
    );
    const before = await counts(t);
    const outcome = await importRegistry(t.core, station, { name: 'causes.csv', buffer: file });
    if (outcome.ok) throw new Error('expected the file to be refused');
    expect(outcome.errors.map((x) => `${x.rowNumber}|${x.field}|${x.message}`)).toEqual([
      '2|身份证号码|身份证号码是科学计数法（9.90102E+17），Excel 已丢失末尾数字：请将该列设为文本后重新输入',
      '3|账号|账号不能是同一个数字的重复：请填写真实账号',
      '4|账号|账号与本人的身份证号码相同：请填写银行卡、社会保障卡或存折的账号，不是身份证号码',
      '5|乡镇|应为「城关镇」：本次导入的是城关镇的花名册，村（社区）须属于本乡镇',
    ]);
    expect(await counts(t)).toEqual(before);
  });

  it('imports what it can read plainly and keeps a warning naming each row: full-width digits, invisible characters, a 15-digit ID converted, a card outside 62, a failed check digit, a 性别 contradicting the ID', async () => {
    t = await createSeededDb();
    const station = await actorFor(t, 'station1');
    const head = idNumberFrom('99010219700101001'); // a man
    const fullWidth = (text: string) => text.replace(/[0-9X]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    const card = `623999123456789012${luhnCheckDigit('623999123456789012')}`;
    const file = utf8Csv(
      [...REGISTRY_FILE_HEADER, '性别', '乡镇'],
      [
        ['西街村', '周一', fullWidth(head), '户主', '', '', '社会保障卡', '青禾县农村信用合作联社', `623999\u200b${card.slice(6)}`, '周一', '女', '城关镇'],
        ['西街村', '周二', '990102720202002', '配偶', head, '', '银行卡', '某银行', '4532015112830366', '周二', '女', '城关镇'],
        ['西街村', '周三', idNumberFrom('99010219800101011'), '户主', '', fullWidth('13800000000'), '社会保障卡', '青禾县农村信用合作联社', '6239991234567890125', '周三', '男', ''],
      ],
    );
    const outcome = await importRegistry(t.core, station, { name: 'warnings.csv', buffer: file });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    expect(outcome).toMatchObject({ created: 3, warnings: 8, luhnWarnings: 1 });
    const kept = await t.core.db('beneficiary_import_warning').where({ import_id: outcome.importId }).orderBy('id').select('row_number', 'field', 'message');
    expect(kept.map((w) => `${w.row_number}|${w.field}|${w.message}`)).toEqual([
      '2|身份证号码|身份证号码含全角数字，已转换',
      '2|账号|账号含不可见字符（零宽空格等），已删除',
      '2|性别|填的是「女」，身份证号码为男性：登记的性别以身份证号码为准，请核对',
      '3|身份证号码|15 位旧身份证号码，已按规则转换为 18 位，请核对',
      // A file without the column 非社保卡原因 (a county's older sheet) imports; its bank card is warned (社保卡优先).
      '3|账户类型|银行卡不是社会保障卡，文件没有「非社保卡原因」列：请补填原因（社保卡尚未发放、社保卡挂失补办中、社保卡未激活金融功能、社保卡金融账户冻结或异常、其他（须说明）），以便办理社保卡',
      `3|账号|${NOT_UNIONPAY_WARNING}`,
      '4|手机号码|手机号码含全角数字，已转换',
      `4|账号|${LUHN_WARNING}`,
    ]);
    // What is stored is the plain number: the ID and card in ASCII digits, the 15-digit ID as 18.
    const people = await t.core.db('beneficiary_person as p').leftJoin('beneficiary_account as a', 'a.person_id', 'p.id').where('p.import_id', outcome.importId).orderBy('p.id').select('p.id_enc', 'p.sex', 'p.phone_enc', 'a.account_enc');
    expect(people.map((p) => t!.core.crypto.decrypt(p.id_enc))).toEqual([head, idNumberFrom('99010219720202002'), idNumberFrom('99010219800101011')]);
    expect(people[0]).toMatchObject({ sex: 'male' });
    expect(t.core.crypto.decrypt(people[0]!.account_enc)).toBe(card);
    expect(t.core.crypto.decrypt(people[2]!.phone_enc)).toBe('13800000000');
  });

  it('is the township station\'s alone', async () => {
    t = await createSeededDb();
    const file = await xlsx(registryFileRows(households(1)));
    await expect(importRegistry(t.core, await actorFor(t, 'finance1'), { name: 'x.xlsx', buffer: file })).rejects.toThrow(ForbiddenError);
    const countyStation = { ...(await actorFor(t, 'station1')), regionId: await regionId(t, '青禾县') };
    await expect(importRegistry(t.core, countyStation, { name: 'x.xlsx', buffer: file })).rejects.toThrow('不在乡镇一级');
  });
});
