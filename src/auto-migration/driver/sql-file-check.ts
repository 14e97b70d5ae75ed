import type { ResolvedAutoMigrationOptions } from '../auto-migration.options';
import { splitStatements, statementsRefusedInTransaction } from './postgres/pg-statements';

/**
 * What a database says about a `.sql` file's text before anything runs, as problems to refuse
 * the start with (an empty list when it has nothing to say): checked when the files are read,
 * before any connection opens.
 */
export type SqlFileCheck = (text: string, transaction: boolean) => string[];

/**
 * The check of the database the options choose. PostgreSQL refuses some statements inside a
 * transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...), and runs a `transaction: false`
 * file statement by statement, which needs it to split. SQLite runs any file whole: nothing to check.
 */
export function sqlFileCheck(options: Pick<ResolvedAutoMigrationOptions, 'postgres'>): SqlFileCheck | null {
  return options.postgres ? checkForPostgres : null;
}

function checkForPostgres(text: string, transaction: boolean): string[] {
  if (!transaction) {
    try {
      splitStatements(text);
      return [];
    } catch (error) {
      return [`cannot be split into statements: ${(error as Error).message}`];
    }
  }
  return statementsRefusedInTransaction(text).map(
    ({ what, line }) =>
      `line ${line}: ${what} cannot run inside a transaction block, and this file runs in one: add the header line "-- transaction: false" (the file then runs statement by statement, without a transaction)`,
  );
}
