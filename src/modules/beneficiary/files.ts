import ExcelJS from 'exceljs';
import { businessDate } from '../../core/dates.ts';
import { freeTextProblem, personNameProblem } from '../../core/fields.ts';
import { type ColumnMapping, applyColumnMapping } from '../../core/column-mapping.ts';
import { type HeaderGap, type ImportError, type SubmittedTable, type TableSpec, readTable, sortErrors, titledSheet, writeErrorReport } from '../../core/spreadsheet.ts';
import { type AccountKind, ACCOUNT_KIND_LABELS, parseAccountNumber } from './account-number.ts';
import { type IdNumberInfo, parseIdNumber } from './id-number.ts';
import { ACCOUNT_KIND_ALIASES, type Relation, RELATION_ALIASES, RELATIONS } from './model.ts';
import { parsePhone, plainNumberText } from './typed-number.ts';
import { NON_CARD_REASONS, type NonCardReason, parseNonCardReason } from './card-first.ts';

/**
 * The township's registry file (受益对象花名册), as described in docs/registry-import-format.md: one row per
 * person, the household given by the head's ID number. This file checks each row and the file as a whole
 * (duplicates); the checks against the registry are the command's. Pure: no database. What is accepted but worth
 * a look (a number typed in full-width digits, a 15-digit ID converted, a card number failing its check digit, a
 * 性别 contradicting the ID number …) comes back as warnings, each naming its row.
 */

export const REGISTRY_COLUMNS = [
  { header: '村（社区）', width: 14, required: true },
  { header: '姓名', width: 10, required: true },
  { header: '身份证号码', width: 22, required: true },
  { header: '与户主关系', width: 10, required: true },
  { header: '户主身份证号码', width: 22, required: true },
  { header: '手机号码', width: 14, required: false },
  { header: '账户类型', width: 12, required: false },
  { header: '开户机构', width: 24, required: false },
  { header: '账号', width: 24, required: false },
  { header: '户名', width: 10, required: false },
  { header: '非社保卡原因', width: 22, required: false },
] as const;

/** Columns a county's own sheet may carry, checked when present, not in the template: 性别 against the ID number, 乡镇 against the township importing. */
const OPTIONAL_COLUMNS = ['性别', '乡镇'] as const;

type Column = (typeof REGISTRY_COLUMNS)[number]['header'] | (typeof OPTIONAL_COLUMNS)[number];

export interface RegistryImportRow {
  rowNumber: number;
  village: string;
  name: string;
  /** The ID number (18 characters, upper-case X; a 15-digit number converted) and what it says. */
  id: IdNumberInfo;
  relation: Relation;
  /** The head's ID number (18 characters); for a head, their own. */
  headIdNumber: string;
  phone: string | null;
  account: { kind: AccountKind; bankName: string; number: string; holderName: string; luhnWarning: boolean; nonCardReason: NonCardReason | null; nonCardNote: string | null } | null;
}

/** A warning names its row and column like an error (ImportError), but does not stop the import. */
export type ImportWarning = ImportError;

/** A refusal for the file's header says what a column mapping could fill (gap), for the mapping form. */
export type RegistryFileResult = { ok: true; rows: RegistryImportRow[]; warnings: ImportWarning[] } | { ok: false; errors: ImportError[]; report: Buffer; gap?: HeaderGap | null };

/**
 * The names counties' own sheets give the columns (docs/registry-import-format.md), the likelier first; brackets
 * full- or half-width, spaces and asterisks ignored. 户主姓名 is not an alias of 姓名: on a member's row it is the head's name.
 */
const COLUMN_ALIASES: Record<Column, readonly string[]> = {
  '村（社区）': ['村', '行政村', '村(居)', '村居', '村名', '所在村', '社区', '村(社区)名称'],
  姓名: ['人员姓名', '成员姓名', '家庭成员姓名'],
  身份证号码: ['身份证号', '公民身份号码', '公民身份证号码', '身份证件号码', '身份证'],
  与户主关系: ['与户主的关系', '家庭关系', '户主关系', '关系'],
  户主身份证号码: ['户主身份证号', '户主公民身份号码', '户主身份证'],
  手机号码: ['手机号', '联系电话', '手机', '电话', '电话号码', '联系方式'],
  账户类型: ['账户种类', '卡折类型', '卡(折)类型'],
  开户机构: ['开户银行', '开户行', '开户网点', '开户银行名称', '银行名称', '发卡银行'],
  账号: ['银行账号', '银行卡号', '卡号', '卡(折)号', '卡折号', '存折号', '金融账号', '账户号码'],
  户名: ['账户名', '账户名称', '开户名', '开户人', '持卡人', '持卡人姓名'],
  非社保卡原因: ['未使用社保卡原因', '未用社保卡原因', '非社保卡发放原因', '不使用社保卡原因', '未使用社会保障卡原因', '非社会保障卡原因'],
  性别: [],
  乡镇: ['乡镇(街道)', '乡(镇)', '所属乡镇'],
};

/** The registry file's columns a region may map (core/column-mapping.ts): those the file needs. */
export const REGISTRY_MAPPABLE_COLUMNS: readonly string[] = REGISTRY_COLUMNS.filter((c) => c.required).map((c) => c.header);

const SPEC: TableSpec = {
  headerHas: ['姓名', '身份证号码', '与户主关系'],
  required: REGISTRY_COLUMNS.filter((c) => c.required).map((c) => c.header),
  aliases: COLUMN_ALIASES,
  rowNoun: '受益对象',
  formatHint: '格式见“下载导入模板”',
};

const MAX_BANK = 80;

const label = <K extends string>(labels: Record<K, string>, text: string): K | undefined => (Object.keys(labels) as K[]).find((k) => labels[k] === text);
const choices = (labels: Record<string, string>) => Object.values(labels).map((l) => `「${l}」`).join('');

/** A value as compared with a vocabulary: spaces removed, brackets half-width. */
const valueKey = (text: string) => text.replace(/\s/g, '').replace(/（/g, '(').replace(/）/g, ')');

/** The value a text names: one of the labels, or one of the other ways of writing them (aliases). */
function vocabulary<K extends string>(labels: Record<K, string>, aliases: Readonly<Record<string, K>>): (text: string) => K | undefined {
  const byKey = new Map<string, K>();
  for (const [text, value] of Object.entries(aliases)) byKey.set(valueKey(text), value);
  for (const value of Object.keys(labels) as K[]) byKey.set(valueKey(labels[value]), value);
  return (text) => byKey.get(valueKey(text));
}

const relationOf = vocabulary(RELATIONS, RELATION_ALIASES);
const accountKindOf = vocabulary(ACCOUNT_KIND_LABELS, ACCOUNT_KIND_ALIASES);

/** A cell's text quoted in a message, at most 10 characters of it. */
const quoted = (text: string) => `「${[...text].slice(0, 10).join('')}」`;

const registryImportReport = (errors: ImportError[], table: SubmittedTable | null) => writeErrorReport('受益对象导入', errors, table);

/**
 * The report of a registry file's errors (found while reading it, or later against the registry): the file is
 * read again, since its rows are not kept while it is checked, to keep a large import's memory down.
 */
export async function registryErrorReport(file: Buffer, errors: ImportError[], mapping: ColumnMapping = {}): Promise<Buffer> {
  const table = await readTable(file, applyColumnMapping(SPEC, mapping));
  return registryImportReport(sortErrors(errors, typeof table === 'string' ? undefined : table.columns), typeof table === 'string' ? null : table);
}

/** A 16–19 digit number that Excel stored as a number has lost its last digits: say so instead of "bad checksum". */
const NUMBER_STORED = '该单元格被 Excel 存成了数字，15 位以后的数字已丢失：请将该列设为“文本”格式后重新录入';

/** What a row is checked against the other rows by, as far as it could be read (also when the row has errors). */
interface RowKeys {
  rowNumber: number;
  idNumber: string | null;
  accountNumber: string | null;
}

const SEX_LABELS = { male: '男', female: '女' } as const;

function validateRow(
  rowNumber: number,
  context: { today: string; township: string },
  get: (c: Column) => string,
  isNumber: (c: Column) => boolean,
  has: (c: Column) => boolean,
): { row: RegistryImportRow | null; errors: ImportError[]; warnings: ImportWarning[]; keys: RowKeys } {
  const { today, township } = context;
  const errors: ImportError[] = [];
  const warnings: ImportWarning[] = [];
  const fail = (field: Column, message: string) => errors.push({ rowNumber, field, message });
  const warn = (field: Column, messages: string[]) => warnings.push(...messages.map((message) => ({ rowNumber, field, message })));
  const long = (field: Column, number: string) => isNumber(field) && number.replace(/\D/g, '').length > 15;

  const village = get('村（社区）');
  if (village === '') fail('村（社区）', '不能为空');
  const townshipText = get('乡镇');
  if (townshipText !== '' && townshipText !== township) fail('乡镇', `应为「${township}」：本次导入的是${township}的花名册，村（社区）须属于本乡镇`);

  const name = get('姓名');
  const nameProblem = personNameProblem(name);
  if (nameProblem) fail('姓名', nameProblem);

  const idText = get('身份证号码');
  const id = parseIdNumber(idText, today);
  if (idText === '') fail('身份证号码', '不能为空');
  else if (long('身份证号码', idText)) fail('身份证号码', NUMBER_STORED);
  else if (!id.ok) fail('身份证号码', id.error);
  else warn('身份证号码', id.warnings);

  const sexText = get('性别');
  if (sexText !== '' && id.ok) {
    const sex = label(SEX_LABELS, sexText);
    if (!sex) warn('性别', [`「${[...sexText].slice(0, 10).join('')}」不是「男」或「女」：登记的性别以身份证号码为准（${SEX_LABELS[id.value.sex]}）`]);
    else if (sex !== id.value.sex) warn('性别', [`填的是「${sexText}」，身份证号码为${SEX_LABELS[id.value.sex]}性：登记的性别以身份证号码为准，请核对`]);
  }

  const relationText = get('与户主关系');
  const relation = relationOf(relationText);
  if (relationText === '') fail('与户主关系', '不能为空');
  else if (!relation) fail('与户主关系', `${quoted(relationText)}无法识别：应为${choices(RELATIONS)}之一，或户口簿上的写法（如妻、长子、女儿、母亲、孙女、儿媳、兄，见导入格式说明）`);

  const headText = get('户主身份证号码');
  let headIdNumber: string | null = null;
  if (headText === '') {
    if (relation === 'head') headIdNumber = id.ok ? id.value.idNumber : null;
    else if (relation) fail('户主身份证号码', '非户主须填写所在户户主的身份证号码');
  } else if (long('户主身份证号码', headText)) {
    fail('户主身份证号码', NUMBER_STORED);
  } else {
    const head = parseIdNumber(headText, today);
    if (!head.ok) fail('户主身份证号码', head.error);
    else if (relation === 'head' && id.ok && head.value.idNumber !== id.value.idNumber) fail('户主身份证号码', '户主本人的这一栏应为空或填本人身份证号码');
    else if (relation && relation !== 'head' && id.ok && head.value.idNumber === id.value.idNumber) fail('户主身份证号码', '非户主的户主身份证号码不能是本人的');
    else headIdNumber = head.value.idNumber;
    if (head.ok && headIdNumber) warn('户主身份证号码', head.warnings);
  }

  const phoneText = get('手机号码');
  const phone = phoneText === '' ? null : parsePhone(phoneText);
  if (phone && !phone.ok) fail('手机号码', phone.error);
  else if (phone?.ok) warn('手机号码', phone.warnings);

  let account: RegistryImportRow['account'] = null;
  const kindText = get('账户类型');
  const bankName = get('开户机构');
  const numberText = get('账号');
  // Without a 户名 column the account is taken to be in the person's own name (as it must be).
  const holderText = get('户名');
  if ([kindText, bankName, numberText, holderText].some((v) => v !== '')) {
    const holderName = has('户名') ? holderText : name;
    const kind = accountKindOf(kindText);
    if (kindText === '') fail('账户类型', '填写账号时不能为空');
    else if (!kind) fail('账户类型', `${quoted(kindText)}无法识别：应为${choices(ACCOUNT_KIND_LABELS)}之一（社保卡、借记卡、一折通等写法也可，见导入格式说明）`);
    if (bankName === '') fail('开户机构', '填写账号时不能为空');
    else if ([...bankName].length > MAX_BANK) fail('开户机构', `不能超过 ${MAX_BANK} 个字`);
    else if (freeTextProblem(bankName)) fail('开户机构', freeTextProblem(bankName)!);
    if (holderName === '' && has('户名')) fail('户名', '填写账号时不能为空');
    else if (name !== '' && holderName !== name) fail('户名', `户名「${holderName}」与姓名不一致：补贴只能发放到本人账户，不得使用他人账户`);
    const parsed = kind ? parseAccountNumber(kind, numberText, id.ok ? id.value.idNumber : null) : null;
    if (long('账号', numberText)) fail('账号', NUMBER_STORED);
    else if (parsed && !parsed.ok) fail('账号', parsed.error);
    else if (parsed?.ok) warn('账号', parsed.warnings);
    // 社保卡优先: another kind needs its reason. A county's file without the column still imports, each such row
    // warned (docs/registry-import-format.md); with the column, an empty or unknown reason refuses the row.
    let nonCard: { reason: NonCardReason; note: string | null } | null = null;
    const reasonText = get('非社保卡原因');
    if (kind && kind !== 'sscard') {
      if (!has('非社保卡原因')) warn('账户类型', [`${ACCOUNT_KIND_LABELS[kind]}不是社会保障卡，文件没有「非社保卡原因」列：请补填原因（${Object.values(NON_CARD_REASONS).join('、')}），以便办理社保卡`]);
      else if (reasonText === '') fail('非社保卡原因', `账户类型为${ACCOUNT_KIND_LABELS[kind]}时不能为空：应为${Object.values(NON_CARD_REASONS).map((l) => `「${l}」`).join('')}之一，其他原因写作「其他：说明」`);
      else {
        const reason = parseNonCardReason(reasonText);
        if (reason.ok) nonCard = { reason: reason.reason, note: reason.note };
        else fail('非社保卡原因', reason.error);
      }
    } else if (kind === 'sscard' && reasonText !== '') warn('非社保卡原因', ['账户类型为社会保障卡，不需填写非社保卡原因，已忽略']);
    if (kind && parsed?.ok) account = { kind, bankName, number: parsed.accountNumber, holderName, luhnWarning: parsed.luhnFailed, nonCardReason: nonCard?.reason ?? null, nonCardNote: nonCard?.note ?? null };
  }

  const plainNumber = plainNumberText(numberText, '账号');
  const digits = plainNumber.ok ? plainNumber.text.replace(/[\s-]/g, '') : '';
  const keys = { rowNumber, idNumber: id.ok ? id.value.idNumber : null, accountNumber: /^\d{8,}$/.test(digits) ? digits : null };
  if (errors.length || !id.ok || !relation || !headIdNumber) return { row: null, errors, warnings, keys };
  return {
    row: { rowNumber, village, name, id: id.value, relation, headIdNumber, phone: phone?.ok ? phone.phone : null, account },
    errors,
    warnings,
    keys,
  };
}

/** Rows sharing a key (ID number, account number) are each told the others' row numbers. */
function duplicates(rows: RowKeys[], key: (r: RowKeys) => string | null, field: Column, what: string): ImportError[] {
  const byKey = new Map<string, number[]>();
  for (const row of rows) {
    const k = key(row);
    if (k !== null) byKey.set(k, [...(byKey.get(k) ?? []), row.rowNumber]);
  }
  const errors: ImportError[] = [];
  for (const numbers of byKey.values()) {
    if (numbers.length < 2) continue;
    for (const rowNumber of numbers) errors.push({ rowNumber, field, message: `${what}与第 ${numbers.filter((n) => n !== rowNumber).join('、')} 行重复` });
  }
  return errors;
}

/**
 * Read a registry file (.xlsx or CSV) of the named township: every row valid and no person or account twice, with
 * the warnings of each row; or every error with a report workbook of the bad rows. A member's head must be a head
 * in the file or (checked later) in the registry.
 */
export async function parseRegistryFile(file: Buffer, township: string, mapping: ColumnMapping = {}): Promise<RegistryFileResult> {
  const rows: RegistryImportRow[] = [];
  const keys: RowKeys[] = [];
  const errors: ImportError[] = [];
  const warnings: ImportWarning[] = [];
  const context = { today: businessDate(), township };
  let gap: HeaderGap | null = null;
  // Each row is checked as it is read and not kept: the report, if any, reads the file again.
  const table = await readTable(file, applyColumnMapping(SPEC, mapping), ({ rowNumber, cells, numeric }, columns) => {
    const index = (c: Column) => columns.get(c);
    const result = validateRow(
      rowNumber,
      context,
      (c) => {
        const i = index(c);
        return i === undefined ? '' : cells[i]!;
      },
      (c) => numeric.includes(index(c) ?? -1),
      (c) => index(c) !== undefined,
    );
    if (result.row) rows.push(result.row);
    keys.push(result.keys);
    errors.push(...result.errors);
    warnings.push(...result.warnings);
    return false;
  }, (g) => (gap = g));
  if (typeof table === 'string') {
    const fileError = [{ rowNumber: 0, field: '文件', message: table }];
    return { ok: false, errors: fileError, report: await registryImportReport(fileError, null), gap };
  }
  errors.push(...duplicates(keys, (r) => r.idNumber, '身份证号码', '身份证号码'));
  errors.push(...duplicates(keys, (r) => r.accountNumber, '账号', '同一账号（一人一卡，不得共用）'));
  const heads = new Map(rows.filter((r) => r.relation === 'head').map((r) => [r.id.idNumber, r]));
  for (const row of rows) {
    const head = heads.get(row.headIdNumber);
    if (row.relation !== 'head' && head && head.village !== row.village) {
      errors.push({ rowNumber: row.rowNumber, field: '村（社区）', message: `与户主（第 ${head.rowNumber} 行）不在同一村（社区）` });
    }
  }
  if (errors.length === 0) return { ok: true, rows, warnings: sortErrors(warnings, table.columns) };
  return { ok: false, errors: sortErrors(errors, table.columns), report: await registryErrorReport(file, errors, mapping) };
}

/** The empty template the township downloads: the columns, text-formatted ID and account columns, two example rows. */
export async function writeRegistryTemplate(villages: string[]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = '一卡通平台';
  const headers = REGISTRY_COLUMNS.map((c) => c.header);
  const sheet = titledSheet(workbook, '受益对象', '受益对象花名册（带 * 的列必填；身份证号码、账号列为文本格式，请勿改为数字）', headers.map((h, i) => (REGISTRY_COLUMNS[i]!.required ? `${h}*` : h)), REGISTRY_COLUMNS.map((c) => c.width));
  for (const column of ['身份证号码', '户主身份证号码', '手机号码', '账号'] as const) sheet.getColumn(headers.indexOf(column) + 1).numFmt = '@';
  const village = villages[0] ?? '某某村';
  const relations = Object.values(RELATIONS).join(',');
  for (let row = 3; row <= 502; row++) {
    sheet.getCell(row, headers.indexOf('与户主关系') + 1).dataValidation = { type: 'list', allowBlank: false, formulae: [`"${relations}"`] };
    sheet.getCell(row, headers.indexOf('账户类型') + 1).dataValidation = { type: 'list', allowBlank: true, formulae: [`"${Object.values(ACCOUNT_KIND_LABELS).join(',')}"`] };
    sheet.getCell(row, headers.indexOf('非社保卡原因') + 1).dataValidation = { type: 'list', allowBlank: true, showErrorMessage: false, formulae: [`"${Object.values(NON_CARD_REASONS).join(',')}"`] };
    if (villages.length && villages.join(',').length < 250) sheet.getCell(row, 1).dataValidation = { type: 'list', allowBlank: false, formulae: [`"${villages.join(',')}"`] };
  }
  const notes = workbook.addWorksheet('填写说明');
  notes.columns = [{ width: 110 }];
  for (const line of [
    '每行一人；同户成员的「户主身份证号码」填户主的身份证号码，户主本人可不填。',
    `「村（社区）」须为本乡镇的村（社区）名称，如：${village}。`,
    `「与户主关系」：${relations.replaceAll(',', '、')}。`,
    `「账户类型」：${Object.values(ACCOUNT_KIND_LABELS).join('、')}；优先使用社会保障卡。账户须为本人账户，「户名」应与姓名一致。`,
    `「非社保卡原因」：账户类型不是社会保障卡时必填，${Object.values(NON_CARD_REASONS).join('、')}；其他原因写作「其他：具体说明」。`,
    '已登记的人：姓名、手机号码、与户主关系按文件更正；账户不同的，生成账户变更申请，待乡镇财政所确认后生效；空白的账户和手机号码不删除已登记的内容。',
    '整个文件检查通过才会导入；有错误时下载错误报告，按「错误原因」改正后重新上传。同一文件重复导入不会重复登记。',
  ]) notes.addRow([line]);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
