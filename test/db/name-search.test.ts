import { afterEach, describe, expect, it } from 'vitest';
import { correctPerson } from '../../src/modules/beneficiary/commands.ts';
import { registryQuery } from '../../src/modules/beneficiary/queries.ts';
import { TEST_DB, type TestDb, actorFor, createSeededDb } from '../factories.ts';

let t: TestDb | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** Names chosen to try the index of pieces: one character, a piece twice, a character outside the BMP, the pattern characters. */
const NAMES = ['王', '李丽丽丽', '张丽华', '丽张', '吉𠮷祥', '𠮷', '阿依古丽·买买提', '欧阳娜娜', '王100%_'];

describe(`the registry's search by part of a name (${TEST_DB})`, () => {
  it('finds exactly the people whose name holds what was typed, whoever wrote the name and however it was changed', async () => {
    t = await createSeededDb({}, { people: true });
    const db = t.core.db;
    const supervisor = await actorFor(t, 'supervisor');
    // People written straight to the table, as a registry import's COPY or another writer would: the index follows any writer.
    const template = (await db('beneficiary_person').orderBy('id').first()) as Record<string, unknown>;
    const { id: _id, ...row } = template;
    for (const [i, name] of NAMES.entries()) {
      await db('beneficiary_person').insert({ ...row, name, id_index: `name-search-${i}`, relation: 'other', household_id: null });
    }
    // A name corrected through the station's command.
    const station = await actorFor(t, 'station1');
    const renamed = (await db('beneficiary_person').where({ village_id: template.village_id, relation: 'spouse' }).first()) as { id: number; name: string; version: number; relation: 'spouse' };
    const oldName = renamed.name;
    await correctPerson(t.core, station, renamed.id, { name: '司马相如', phone: null, relation: renamed.relation, version: renamed.version });

    const people = (await db('beneficiary_person').select('id', 'name')) as { id: number; name: string }[];
    const search = async (part: string) => ((await registryQuery(db, supervisor, { name: part }).select('p.id')) as { id: number }[]).map((r) => Number(r.id)).sort((a, b) => a - b);
    const expected = (part: string) => people.filter((p) => p.name.includes(part)).map((p) => Number(p.id)).sort((a, b) => a - b);

    const parts = new Set<string>(['丽', '丽丽', '丽丽丽', '丽张', '张丽', '𠮷', '吉𠮷', '𠮷祥', '·', '古丽·买', '%', '_', '100%_', '0%', '司马', '相如', '无此人', '丽华张']);
    // Every character, every two side by side and every whole name of the seeded registry too.
    for (const { name } of people) {
      const chars = [...name];
      parts.add(name);
      for (const [i, c] of chars.entries()) {
        parts.add(c);
        if (i > 0) parts.add(chars[i - 1] + c);
      }
    }
    for (const part of parts) expect(await search(part), part).toEqual(expected(part));
    // Sanity of the expectations themselves: the corrected name is found by its new name alone.
    expect(await search('司马相如')).toEqual([renamed.id]);
    if (!people.some((p) => p.name.includes(oldName))) expect(await search(oldName)).toEqual([]);
    expect((await search('丽')).length).toBeGreaterThanOrEqual(4);
    expect(await search('%')).toEqual(expected('%'));
    expect(expected('%').length).toBe(1);
  });
});
