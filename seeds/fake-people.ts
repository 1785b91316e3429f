import { checkCharacter } from '../src/modules/beneficiary/id-number.ts';
import { luhnCheckDigit } from '../src/modules/beneficiary/account-number.ts';
import { seededRandom } from '../src/core/random.ts';

/**
 * Fake beneficiaries for the demo county, the tests and the benchmark: made-up names, ID numbers with a valid
 * check character (region code of the fictional 青禾县), card numbers that pass Luhn under a made-up prefix.
 * No phone numbers: every Chinese mobile range is allocated, so a generated one could be a real person's.
 * Deterministic for a seed, so that tests and demos are repeatable. No real person's data.
 */
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉梅海燕春林文斌浩宇欣怡子涵佳琪雨萱俊熙梓轩晨阳思远淑珍凤兰德胜永福金花长青秋菊冬梅';

export type Relation = 'head' | 'spouse' | 'child' | 'parent';
export type FakeStatus = 'active' | 'deceased' | 'moved';

export interface FakePerson {
  name: string;
  idNumber: string;
  birthDate: string;
  sex: 'male' | 'female';
  relation: Relation;
  status: FakeStatus;
  /** Payout accounts; most people one social-security card, a few none or two. */
  accounts: { kind: 'sscard' | 'bankcard' | 'passbook'; number: string; holder: string }[];
}

export interface FakeHousehold {
  village: string;
  members: FakePerson[];
}

export interface FakeOptions {
  households: number;
  villages: string[];
  seed?: number;
  /** ID region code (first six digits). */
  regionCode?: string;
  /** Anomalies for the checks to find: shares of deceased and moved people, accounts used by two people, people with two accounts. */
  deceasedShare?: number;
  movedShare?: number;
  sharedAccounts?: number;
  secondAccounts?: number;
}

export function fakeHouseholds(options: FakeOptions): FakeHousehold[] {
  const rnd = seededRandom(options.seed ?? 20261123);
  const pick = <T>(list: ArrayLike<T>) => list[Math.floor(rnd() * list.length)]!;
  const int = (min: number, max: number) => min + Math.floor(rnd() * (max - min + 1));
  const regionCode = options.regionCode ?? '990102';
  const usedIds = new Set<string>();
  const usedCards = new Set<string>();

  function idNumber(birth: string, sex: 'male' | 'female'): string {
    for (;;) {
      let seq = int(0, 999);
      if ((seq % 2 === 1) !== (sex === 'male')) seq = (seq + 1) % 1000;
      const body = `${regionCode}${birth.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
      const id = body + checkCharacter(body);
      if (!usedIds.has(id)) {
        usedIds.add(id);
        return id;
      }
    }
  }

  function card(): string {
    for (;;) {
      let body = '623999';
      while (body.length < 18) body += String(int(0, 9));
      const number = body + luhnCheckDigit(body);
      if (!usedCards.has(number)) {
        usedCards.add(number);
        return number;
      }
    }
  }

  function person(surname: string, relation: Relation, birthYear: number, sex: 'male' | 'female'): FakePerson {
    const name = surname + pick(GIVEN) + (rnd() < 0.6 ? pick(GIVEN) : '');
    const birthDate = `${birthYear}-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}`;
    const roll = rnd();
    const status: FakeStatus = roll < (options.deceasedShare ?? 0.02) ? 'deceased' : roll < (options.deceasedShare ?? 0.02) + (options.movedShare ?? 0.02) ? 'moved' : 'active';
    const adult = birthYear <= 2008;
    return {
      name,
      idNumber: idNumber(birthDate, sex),
      birthDate,
      sex,
      relation,
      status,
      accounts: adult ? [{ kind: rnd() < 0.85 ? 'sscard' : 'bankcard', number: card(), holder: name }] : [],
    };
  }

  const households: FakeHousehold[] = [];
  for (let h = 0; h < options.households; h++) {
    const surname = pick(SURNAMES);
    const headSex = rnd() < 0.8 ? 'male' : 'female';
    const headYear = int(1945, 1995);
    const members = [person(surname, 'head', headYear, headSex)];
    if (rnd() < 0.75) members.push(person(pick(SURNAMES), 'spouse', headYear + int(-4, 4), headSex === 'male' ? 'female' : 'male'));
    for (let c = int(0, 3); c > 0; c--) members.push(person(surname, 'child', Math.min(headYear + int(20, 35), 2024), rnd() < 0.5 ? 'male' : 'female'));
    if (headYear > 1965 && rnd() < 0.2) members.push(person(surname, 'parent', headYear - int(22, 32), rnd() < 0.5 ? 'male' : 'female'));
    households.push({ village: options.villages[h % options.villages.length]!, members });
  }

  // Anomalies: one card used by two people of different households, and people holding a second card.
  const adults = households.flatMap((h) => h.members).filter((m) => m.accounts.length);
  for (let i = 0; i < (options.sharedAccounts ?? 0) && adults.length > 2 * i + 1; i++) {
    const owner = adults[2 * i]!;
    const other = adults[2 * i + 1]!;
    other.accounts = [{ ...owner.accounts[0]!, holder: owner.name }];
  }
  for (let i = 0; i < (options.secondAccounts ?? 0) && i < adults.length; i++) {
    const p = adults[adults.length - 1 - i]!;
    p.accounts.push({ kind: 'passbook', number: String(int(10_000_000, 99_999_999)) + String(int(1000, 9999)), holder: p.name });
  }
  return households;
}

const RELATION_LABELS: Record<Relation, string> = { head: '户主', spouse: '配偶', child: '子女', parent: '父母' };
const KIND_LABELS = { sscard: '社会保障卡', bankcard: '银行卡', passbook: '存折' } as const;

/** The columns of a township's registry file (docs/registry-import-format.md). */
export const REGISTRY_FILE_HEADER = ['村（社区）', '姓名', '身份证号码', '与户主关系', '户主身份证号码', '手机号码', '账户类型', '开户机构', '账号', '户名'];

/** Fake households as the rows of a registry file: each person with their first own account, the bank given. */
export function registryFileRows(households: FakeHousehold[], bankName = '青禾县农村信用合作联社'): string[][] {
  return households.flatMap((h) =>
    h.members.map((m) => {
      const account = m.accounts.find((a) => a.holder === m.name);
      return [h.village, m.name, m.idNumber, RELATION_LABELS[m.relation], m.relation === 'head' ? '' : h.members[0]!.idNumber, '', account ? KIND_LABELS[account.kind] : '', account ? bankName : '', account?.number ?? '', account ? m.name : ''];
    }),
  );
}
