import type { Type } from '@nestjs/common';
import type { Database } from 'better-sqlite3';
import { Migration, type MigrationOptions } from '../../src/auto-migration';

/**
 * Builds a migration class at runtime. `up` defaults to creating a table named after the
 * migration, so tests can see what ran.
 */
export function migration(
  name: string,
  up: (db: Database) => void | Promise<void> = (db) => {
    db.exec(`CREATE TABLE ${tableFor(name)} (id INTEGER PRIMARY KEY)`);
  },
  options: Partial<MigrationOptions> = {},
): Type<unknown> {
  const className = `M${name.replace(/\W/g, '_')}`;
  const holder = {
    [className]: class {
      up(db: Database) {
        return up(db);
      }
    },
  };
  const type = holder[className];
  return decorate(type, name, options);
}

/** Like `migration()`, with a `down()` that drops the table the default `up` creates (or runs `down`). */
export function reversibleMigration(
  name: string,
  down: (db: Database) => void | Promise<void> = (db) => {
    db.exec(`DROP TABLE ${tableFor(name)}`);
  },
  options: Partial<MigrationOptions> = {},
): Type<unknown> {
  const className = `R${name.replace(/\W/g, '_')}`;
  const holder = {
    [className]: class {
      up(db: Database) {
        db.exec(`CREATE TABLE ${tableFor(name)} (id INTEGER PRIMARY KEY)`);
      }
      down(db: Database) {
        return down(db);
      }
    },
  };
  return decorate(holder[className], name, options);
}

function decorate(type: Type<unknown>, name: string, options: Partial<MigrationOptions>): Type<unknown> {
  Migration({ name, version: '1.0.0', description: `test ${name}`, ...options })(type);
  return type;
}

/** The table the default `up` of `migration(name)` creates. */
export function tableFor(name: string): string {
  return `t_${name.replace(/\W/g, '_')}`;
}

/**
 * A migration that creates table `slow`, then waits, inside its transaction, until the test calls
 * `release()`; then inserts one row. `started` resolves once it is waiting.
 */
export function gatedMigration(name: string): { type: Type<unknown>; started: Promise<void>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const started = new Promise<void>((resolve) => (entered = resolve));
  const type = migration(name, async (db) => {
    db.exec('CREATE TABLE slow (id INTEGER)');
    entered();
    await gate;
    db.exec('INSERT INTO slow VALUES (1)');
  });
  return { type, started, release };
}
