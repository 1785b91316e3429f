import type { AccountKind } from './account-number.ts';

/** The registry's vocabularies, with the labels the screens and files use. */
export const RELATIONS = { head: '户主', spouse: '配偶', child: '子女', parent: '父母', grandchild: '孙子女', other: '其他' } as const;
export type Relation = keyof typeof RELATIONS;
export const STATUSES = { active: '在册', deceased: '死亡', moved: '迁出', cancelled: '注销' } as const;
export type PersonStatus = keyof typeof STATUSES;

/** Each text as the given value. */
const each = <V extends string>(value: V, texts: string[]): Record<string, V> => Object.fromEntries(texts.map((t) => [t, value]));

/**
 * 与户主关系 as a household register (户口簿, GB/T 4761 家庭关系) writes it, mapped to the registry's relations: each
 * kind of spouse, child, parent and grandchild to its own; in-laws (儿媳, 女婿, 公公 …), siblings, grandparents and
 * other relatives to 其他. The registry's own labels (RELATIONS) are accepted besides.
 */
const ORDINALS = ['长', '次', '二', '三', '四', '五', '六', '七', '八', '九', '独生', '养', '继'];
export const RELATION_ALIASES: Readonly<Record<string, Relation>> = {
  ...each('head', ['本人', '户主本人']),
  ...each('spouse', ['妻', '夫', '妻子', '丈夫', '爱人']),
  ...each('child', ['子', '女', '儿子', '女儿', ...ORDINALS.flatMap((o) => [`${o}子`, `${o}女`]), '养子或继子', '养女或继女', '其他儿子', '其他女儿']),
  ...each('parent', ['父', '母', '父亲', '母亲', '继父', '继母', '养父', '养母', '继父或养父', '继母或养母']),
  ...each('grandchild', ['孙', '孙子', '孙女', '外孙', '外孙子', '外孙女', '外孙子女']),
  ...each('other', [
    '其它', '儿媳', '媳妇', '女婿', '孙媳妇', '孙女婿', '公公', '婆婆', '岳父', '岳母',
    '兄弟姐妹', '兄', '弟', '姐', '妹', '哥哥', '弟弟', '姐姐', '妹妹', '嫂', '嫂子', '弟媳', '姐夫', '妹夫',
    '祖父', '祖母', '外祖父', '外祖母', '祖父母', '外祖父母', '曾孙子', '曾孙女',
    '伯父', '伯母', '叔父', '婶母', '舅父', '舅母', '姨父', '姨母', '姑父', '姑母', '侄子', '侄女', '外甥', '外甥女', '其他亲属', '非亲属',
  ]),
};

/**
 * 账户类型 as counties' sheets write it, mapped to the account kinds (ACCOUNT_KIND_LABELS, accepted besides): 社保卡
 * and 金融社保卡 are the social security card; a debit or savings card a bank card; 一折通 (惠农一折通) a passbook.
 */
export const ACCOUNT_KIND_ALIASES: Readonly<Record<string, AccountKind>> = {
  ...each('sscard', ['社保卡', '社保', '金融社保卡', '第三代社保卡']),
  ...each('bankcard', ['借记卡', '储蓄卡', '银行借记卡', '银联卡']),
  ...each('passbook', ['一折通', '惠农一折通', '折子']),
};
