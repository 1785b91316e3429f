import type { Knex } from 'knex';

/**
 * The registry's search by part of a name (issue 18): an index of the names' pieces. `name LIKE '%…%'` read every
 * person of the deployment: with a million people, 80 ms on SQLite and 200 ms on PostgreSQL per search, and 50 clerks
 * searching waited seconds. Each database gets the cheapest index it can keep (core/db whereTextHolds reads both):
 *
 * - PostgreSQL: a GIN index on `beneficiary_name_pieces(name)`, the name's characters and pairs of characters side by
 *   side. A search looks up its one character, or all its pairs (LIKE then checks their order). Kept by PostgreSQL
 *   itself at each write, a quarter of a second for an import of 50,000 people (a table of pieces kept by a trigger
 *   cost 1.4 s), about 11 MB for a million people.
 * - SQLite: a table `beneficiary_name_gram` of each distinct name's pieces: every two characters side by side, and its
 *   last character followed by the unit separator (U+001F, which no name holds), so that one character is found by the
 *   pieces starting with it. Triggers keep it whoever writes a name (a registration, an import, a correction); a name
 *   already known costs one probe. Pieces of a name nobody holds any more stay: they lead to no one.
 *   `beneficiary_name_position` holds the positions 1–40 (the column's width) that cut a name into pieces.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    // PL/pgSQL: 2 µs a name, where the same in one SQL statement (generate_series) cost 16 µs.
    await knex.raw(`CREATE FUNCTION beneficiary_name_pieces(name text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      DECLARE
        pieces text[] := '{}';
        n int := char_length(name);
      BEGIN
        FOR i IN 1..n LOOP
          pieces := pieces || substr(name, i, 1);
          IF i < n THEN pieces := pieces || substr(name, i, 2); END IF;
        END LOOP;
        RETURN pieces;
      END
    $$`);
    await knex.raw('CREATE INDEX beneficiary_person_name_pieces ON beneficiary_person USING gin (beneficiary_name_pieces(name))');
    return;
  }
  await knex.schema.createTable('beneficiary_name_position', (t) => {
    t.integer('n').primary();
  });
  await knex('beneficiary_name_position').insert(Array.from({ length: 40 }, (_, i) => ({ n: i + 1 })));
  await knex.raw(`CREATE TABLE "beneficiary_name_gram" (gram varchar(2) NOT NULL, name varchar(40) NOT NULL, PRIMARY KEY (gram, name)) WITHOUT ROWID`);
  const piece = (name: string, at: string) => `substr(${name} || char(31), ${at}, 2)`;
  await knex.raw(`INSERT OR IGNORE INTO beneficiary_name_gram (gram, name)
    SELECT ${piece('p.name', 'n.n')}, p.name FROM beneficiary_person p JOIN beneficiary_name_position n ON n.n <= length(p.name)`);
  const addPieces = `BEGIN
      INSERT OR IGNORE INTO beneficiary_name_gram (gram, name)
        SELECT ${piece('NEW.name', 'n.n')}, NEW.name FROM beneficiary_name_position n
        WHERE n.n <= length(NEW.name)
          AND NOT EXISTS (SELECT 1 FROM beneficiary_name_gram g WHERE g.gram = ${piece('NEW.name', '1')} AND g.name = NEW.name);
    END`;
  await knex.raw(`CREATE TRIGGER beneficiary_person_name_grams_insert AFTER INSERT ON beneficiary_person ${addPieces}`);
  await knex.raw(`CREATE TRIGGER beneficiary_person_name_grams_update AFTER UPDATE OF name ON beneficiary_person WHEN NEW.name <> OLD.name ${addPieces}`);
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    await knex.raw('DROP INDEX IF EXISTS beneficiary_person_name_pieces');
    await knex.raw('DROP FUNCTION IF EXISTS beneficiary_name_pieces(text)');
    return;
  }
  await knex.raw('DROP TRIGGER IF EXISTS beneficiary_person_name_grams_insert');
  await knex.raw('DROP TRIGGER IF EXISTS beneficiary_person_name_grams_update');
  await knex.schema.dropTableIfExists('beneficiary_name_gram');
  await knex.schema.dropTableIfExists('beneficiary_name_position');
}
