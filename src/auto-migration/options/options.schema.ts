import { Type } from 'class-transformer';
import { Allow, IsBoolean, IsIn, IsInt, IsNotEmpty, IsObject, IsString, Matches, Min, ValidateBy, ValidateIf, ValidateNested } from 'class-validator';
import { validateCronExpression } from 'cron';
import { parseDuration } from '../history/duration';

/*
 * class-validator schema of the options. Kept apart from the public interfaces so that users'
 * type declarations carry no decorators, and so every bad field is reported in one pass.
 */

/** Like `@Optional()`, but only for `undefined`: a `null` is a value, and a wrong one. */
const Optional = () => ValidateIf((_: unknown, value: unknown) => value !== undefined);
const notFalse = (field: string) => ValidateIf((o: Record<string, unknown>) => o[field] !== undefined && o[field] !== false);

export class BackupOptionsSchema {
  @Optional() @IsString() @IsNotEmpty() dir?: string;
  @Optional() @IsInt() @Min(1) keep?: number;
  @Optional() @IsIn(['quick', 'full']) verify?: string;
}

const IsDuration = () =>
  ValidateBy({
    name: 'isDuration',
    validator: {
      validate: (value) => parseDuration(value) !== null,
      defaultMessage: () => 'olderThan must be milliseconds or a duration such as "365d", "12h", "30m", "90s"',
    },
  });

const IsCronExpression = () =>
  ValidateBy({
    name: 'isCronExpression',
    validator: {
      validate: (value) => typeof value === 'string' && validateCronExpression(value).valid,
      defaultMessage: () => 'cron must be a cron expression such as "0 3 * * 0"',
    },
  });

export class ArchiveOptionsSchema {
  @IsDuration() olderThan!: number | string;
  @IsCronExpression() cron!: string;
}

export class LockOptionsSchema {
  @Optional() @IsInt() @Min(0) timeoutMs?: number;
  @Optional() @IsInt() @Min(1) staleAfterMs?: number;
}

/** Case-insensitive choice (SQLite spells `WAL` and `wal` alike); lower-cased when options are resolved. */
const OneOf = (field: string, values: string[]) =>
  Matches(new RegExp(`^(?:${values.join('|')})$`, 'i'), { message: `${field} must be one of ${values.join(', ')}` });

export class PragmasSchema {
  @Optional() @IsInt() @Min(0) busy_timeout?: number;
  @Optional() @IsString() @OneOf('journal_mode', ['delete', 'truncate', 'persist', 'memory', 'wal', 'off']) journal_mode?: string;
  @Optional() @IsString() @OneOf('synchronous', ['off', 'normal', 'full', 'extra']) synchronous?: string;
  @Optional() @IsBoolean() foreign_keys?: boolean;
  @Optional() @IsInt() cache_size?: number;
}

export class StatusControllerSchema {
  @Optional()
  @IsString()
  // Plain segments only: no `..`, no `:param`, nothing a router would read as a pattern.
  @Matches(/^\/?[A-Za-z0-9_~-][A-Za-z0-9_.~-]*(?:\/[A-Za-z0-9_~-][A-Za-z0-9_.~-]*)*\/?$/, {
    message: 'path must be a plain URL path such as "migrations/status" (letters, digits, "_", "-", "~", "." and "/"; no ".." or ":param")',
  })
  path?: string;
  // Guards are classes or instances: checked by hand, because class-transformer would copy them.
  guards?: unknown;
}

/**
 * The SQLite client does not read SQLite URIs: `file::memory:?cache=shared` would silently create a
 * file of that literal name in the working directory, so URIs (and `:memory:` with parameters)
 * are refused instead of being taken for paths.
 */
const IsDatabasePath = () =>
  ValidateBy({
    name: 'isDatabasePath',
    validator: {
      validate: (value) => typeof value !== 'string' || !/^(?:file:|:memory:.)/i.test(value),
      defaultMessage: () =>
        'database must be a file path or ":memory:"; SQLite URIs ("file:...", ":memory:?...") are not supported (the driver would create a file named after the whole text)',
    },
  });

/** A schema name the module can put in SQL as it is: PostgreSQL's unquoted identifiers, lower case. */
const IsSchemaName = () =>
  Matches(/^[a-z_][a-z0-9_$]{0,62}$/, {
    message: 'schema must be a PostgreSQL identifier in lower case (letters, digits, "_", "$"; at most 63 characters), such as "public" or "app"',
  });

const IsPostgresUrl = () => Matches(/^postgres(?:ql)?:\/\//i, { message: '$property must be a URL such as "postgres://user:password@host:5432/database"' });

export class DdlOptionsSchema {
  @Optional() @IsInt() @Min(0) lockTimeoutMs?: number;
  @Optional() @IsInt() @Min(0) statementTimeoutMs?: number;
}

export class PostgresOptionsSchema {
  @Optional() @IsString() @IsPostgresUrl() connectionString?: string;
  @Optional() @IsString() @IsPostgresUrl() migrationConnectionString?: string;
  @Optional() @IsString() @IsSchemaName() schema?: string;
  @Optional() @IsObject() @ValidateNested() @Type(() => DdlOptionsSchema) ddl?: DdlOptionsSchema;
}

/** Options every database takes. */
class CommonOptionsSchema {
  @Optional() @IsObject() @ValidateNested() @Type(() => LockOptionsSchema) lock?: LockOptionsSchema;

  @Optional() @IsBoolean() failOnError?: boolean;

  @Optional() @IsIn([true, false, 'warn'], { message: "validateChecksums must be true, false or 'warn'" }) validateChecksums?: boolean | 'warn';

  @Optional() @IsIn(['each', 'all']) transactionMode?: string;

  @Optional() @IsBoolean() allowOutOfOrder?: boolean;

  @Optional() @IsBoolean() rehearse?: boolean;

  // Checked by hand in resolveOptions: a string or an object.
  @Allow() safety?: unknown;

  @Optional() @IsObject() @ValidateNested() @Type(() => ArchiveOptionsSchema) archive?: ArchiveOptionsSchema;

  @Optional() @IsIn(['blocking', 'background', 'verify']) mode?: string;

  @Optional() @IsInt() @Min(100) verifyIntervalMs?: number;

  @Optional() @IsString() @IsNotEmpty() migrationsDir?: string;
}

/** The options of a SQLite database. */
export class AutoMigrationOptionsSchema extends CommonOptionsSchema {
  @IsString() @IsNotEmpty() @IsDatabasePath() database!: string;

  @notFalse('backup')
  @IsObject({ message: 'backup must be an object or false' })
  @ValidateNested()
  @Type(() => BackupOptionsSchema)
  backup?: BackupOptionsSchema | false;

  @Optional() @IsObject() @ValidateNested() @Type(() => PragmasSchema) pragmas?: PragmasSchema;
}

/**
 * The options of a PostgreSQL database. `backup` and `postgres.pool` hold functions and objects
 * class-transformer would copy: `resolveOptions` checks them by hand and leaves them out of this check.
 */
export class PostgresAutoMigrationOptionsSchema extends CommonOptionsSchema {
  @IsObject() @ValidateNested() @Type(() => PostgresOptionsSchema) postgres!: PostgresOptionsSchema;
}
