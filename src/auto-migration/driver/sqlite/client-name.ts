/** The npm package the SQLite driver loads, for the install advice: a name only, so that naming it loads nothing. */
export const SQLITE_CLIENT = 'better-sqlite3';
