/** The npm package the PostgreSQL driver loads, for the install advice: a name only, so that naming it loads nothing. */
export const POSTGRES_CLIENT = 'pg';
