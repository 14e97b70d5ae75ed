import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { CanActivate, Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import {
  DEFAULT_BACKUP_DIR_NAME,
  DEFAULT_BACKUP_KEEP,
  DEFAULT_LOCK_STALE_AFTER_MS,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STATUS_PATH,
  DEFAULT_VERIFY_INTERVAL_MS,
} from '../auto-migration.constants';
import type {
  AutoMigrationModuleOptions,
  PostgresAutoMigrationModuleOptions,
  ResolvedAutoMigrationOptions,
  SafetyMode,
  SafetyOptions,
  SqlitePragmas,
  StatusControllerOptions,
} from '../auto-migration.options';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { AutoMigrationOptionsSchema, PostgresAutoMigrationOptionsSchema, StatusControllerSchema } from './options.schema';
import { resolvePostgres } from './resolve-postgres-options';
import { DEFAULT_LONG_LOCK_MS } from '../safety/rules';

const MEMORY = ':memory:';

/**
 * Validates the module options and fills in every default. Throws one `InvalidOptionsError`
 * listing every bad field, unknown keys included.
 */
export function resolveOptions(raw: unknown, cwd = process.cwd()): ResolvedAutoMigrationOptions {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidOptionsError([`options must be an object with "database" (SQLite) or "postgres" (PostgreSQL) (got ${describe(raw)})`]);
  }
  if ('postgres' in raw && (raw as { postgres?: unknown }).postgres !== undefined)
    return resolvePostgresOptions(raw as PostgresAutoMigrationModuleOptions, cwd);
  assertValid([...checkSchema(AutoMigrationOptionsSchema, { ...raw }).problems, ...safetyProblems((raw as { safety?: unknown }).safety)]);

  const options = raw as AutoMigrationModuleOptions;
  const inMemory = options.database === MEMORY;
  const database = inMemory ? MEMORY : resolve(cwd, options.database);
  const backup =
    options.backup === false
      ? false
      : {
          dir: resolveBackupDir(options.backup?.dir, database, inMemory, cwd),
          keep: options.backup?.keep ?? DEFAULT_BACKUP_KEEP,
          verify: options.backup?.verify ?? 'quick',
        };
  return {
    ...commonOptions(options, cwd),
    database,
    postgres: null,
    backupHook: null,
    secrets: [],
    inMemory,
    backup,
    pragmas: lowerCaseChoices(options.pragmas ?? {}),
  };
}

/**
 * The PostgreSQL options: `postgres` checked, then `backup` (false or a hook) and `postgres.pool`
 * by hand, since they hold functions. SQLite's own options are refused by name.
 */
function resolvePostgresOptions(options: PostgresAutoMigrationModuleOptions, cwd: string): ResolvedAutoMigrationOptions {
  const { backup, postgres, ...rest } = options as PostgresAutoMigrationModuleOptions & Record<string, unknown>;
  const problems: string[] = [];
  if (rest.database !== undefined)
    problems.push('database: give "database" (a SQLite file) or "postgres" (a PostgreSQL server), not both: one module import migrates one database');
  if (rest.pragmas !== undefined) problems.push('pragmas: SQLite only; on PostgreSQL set timeouts with postgres.ddl');
  if (rest.rehearse === true)
    problems.push(
      'rehearse: SQLite only (a PostgreSQL database cannot be copied while the application uses it); use `nest-auto-migration up --dry-run`, which runs the pending migrations in a transaction that is rolled back',
    );
  const { database: _database, pragmas: _pragmas, ...common } = rest;
  const { pool, ...server } = (typeof postgres === 'object' && postgres !== null ? postgres : {}) as Record<string, unknown>;
  const checked = checkSchema(PostgresAutoMigrationOptionsSchema, {
    ...common,
    postgres: typeof postgres === 'object' && postgres !== null ? server : postgres,
  });
  problems.push(...checked.problems, ...safetyProblems(rest.safety));
  if (
    backup !== undefined &&
    backup !== false &&
    !(typeof backup === 'object' && backup !== null && typeof (backup as { run?: unknown }).run === 'function' && Object.keys(backup).every((k) => k === 'run'))
  ) {
    problems.push(
      `backup: on PostgreSQL, false or { run: async (context) => ... } (your hook: a provider snapshot, say; file backups are SQLite only) (got ${describe(backup)})`,
    );
  }
  const resolved = resolvePostgres(server, pool);
  if ('problems' in resolved) problems.push(...resolved.problems);
  assertValid(problems);
  const { target, options: postgresOptions, secrets } = resolved as Exclude<typeof resolved, { problems: string[] }>;
  return {
    ...commonOptions(options, cwd),
    database: target,
    postgres: postgresOptions,
    backupHook: backup === undefined || backup === false ? null : backup,
    secrets,
    inMemory: false,
    backup: false,
    pragmas: {},
  };
}

/** The options every database takes, defaults filled in. */
function commonOptions(options: AutoMigrationModuleOptions | PostgresAutoMigrationModuleOptions, cwd: string) {
  return {
    lock: {
      timeoutMs: options.lock?.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
      staleAfterMs: options.lock?.staleAfterMs ?? DEFAULT_LOCK_STALE_AFTER_MS,
    },
    failOnError: options.failOnError ?? true,
    validateChecksums: options.validateChecksums ?? true,
    transactionMode: options.transactionMode ?? 'each',
    allowOutOfOrder: options.allowOutOfOrder ?? false,
    rehearse: options.rehearse ?? false,
    safety: resolveSafety(options.safety),
    archive: options.archive ? { ...options.archive } : null,
    mode: options.mode ?? 'blocking',
    verifyIntervalMs: options.verifyIntervalMs ?? DEFAULT_VERIFY_INTERVAL_MS,
    migrationsDir: options.migrationsDir === undefined ? null : resolve(cwd, options.migrationsDir),
  } as const;
}

const SAFETY_MODES = ['off', 'warn', 'refuse'];

/** What is wrong with `safety`: a mode, or `{ mode, longLockMs? }`. */
function safetyProblems(safety: unknown): string[] {
  if (safety === undefined || SAFETY_MODES.includes(safety as string)) return [];
  const expected = "'off', 'warn', 'refuse' or { mode, longLockMs }";
  if (typeof safety !== 'object' || safety === null || Array.isArray(safety)) return [`safety: must be ${expected} (got ${describe(safety)})`];
  const { mode, longLockMs, ...rest } = safety as Record<string, unknown>;
  const problems: string[] = [];
  if (!SAFETY_MODES.includes(mode as string)) problems.push(`safety.mode: must be 'off', 'warn' or 'refuse' (got ${describe(mode)})`);
  if (longLockMs !== undefined && !(Number.isInteger(longLockMs) && (longLockMs as number) >= 0))
    problems.push(`safety.longLockMs: must be a whole number of milliseconds, 0 or more (got ${describe(longLockMs)})`);
  for (const key of Object.keys(rest)) problems.push(`safety.${key}: unknown option (safety takes mode and longLockMs)`);
  return problems;
}

function resolveSafety(safety: SafetyMode | SafetyOptions | undefined): Required<SafetyOptions> {
  if (safety === undefined || typeof safety === 'string') return { mode: safety ?? 'off', longLockMs: DEFAULT_LONG_LOCK_MS };
  return { mode: safety.mode, longLockMs: safety.longLockMs ?? DEFAULT_LONG_LOCK_MS };
}

/** Throws one `InvalidOptionsError` listing every problem, if there is any. */
function assertValid(found: string[]): void {
  const problems = found.map((p) =>
    p.startsWith('statusController:')
      ? 'statusController: give it to forRootAsync() beside useFactory, not in the factory result (routes are fixed before factories run)'
      : p.startsWith('name:')
        ? 'name: give it to forRootAsync() beside useFactory, not in the factory result (the instance is named before factories run)'
        : p,
  );
  if (problems.length > 0) throw new InvalidOptionsError(problems);
}

/** Validates the `statusController` option, which is read when the module is defined. */
export function resolveStatusController(
  raw: unknown,
  defaultPath: string = DEFAULT_STATUS_PATH,
): false | { path: string; guards: (Type<CanActivate> | CanActivate)[] } {
  if (raw === false) return false;
  if (raw === undefined) return { path: defaultPath, guards: [] };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidOptionsError([`statusController: must be an object or false (got ${describe(raw)})`]);
  }
  const { guards, ...rest } = raw as StatusControllerOptions;
  const problems = checkSchema(StatusControllerSchema, rest).problems.map((p) => `statusController.${p}`);
  if (guards !== undefined && (!Array.isArray(guards) || !guards.every(isGuard))) {
    problems.push('statusController.guards: must be an array of guard classes or objects with a canActivate() method');
  }
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  return { path: rest.path ?? defaultPath, guards: guards ?? [] };
}

function lowerCaseChoices(pragmas: SqlitePragmas): SqlitePragmas {
  const { journal_mode, synchronous, ...rest } = pragmas;
  return {
    ...rest,
    ...(journal_mode && { journal_mode: journal_mode.toLowerCase() as SqlitePragmas['journal_mode'] }),
    ...(synchronous && { synchronous: synchronous.toLowerCase() as SqlitePragmas['synchronous'] }),
  };
}

function resolveBackupDir(dir: string | undefined, database: string, inMemory: boolean, cwd: string): string {
  if (dir !== undefined) return isAbsolute(dir) ? dir : resolve(cwd, dir);
  return inMemory ? resolve(cwd, DEFAULT_BACKUP_DIR_NAME) : join(dirname(database), DEFAULT_BACKUP_DIR_NAME);
}

function checkSchema(schema: new () => object, raw: object): { problems: string[] } {
  const instance = plainToInstance(schema, raw);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  return { problems: errors.flatMap((e) => flatten(e, '')) };
}

function flatten(error: ValidationError, parent: string): string[] {
  const path = parent ? `${parent}.${error.property}` : error.property;
  const constraints = { ...error.constraints };
  // "nested property must be an object" only repeats the field's own type message.
  if (Object.keys(constraints).length > 1) delete constraints.nestedValidation;
  if (constraints.isInt) {
    // A value of the wrong type breaks the range rule too, but "60s must not be less than 0" explains nothing.
    if (typeof error.value !== 'number') delete constraints.min;
    if (error.property.endsWith('Ms')) constraints.isInt = `${error.property} must be a whole number of milliseconds, such as 60000 for one minute`;
  }
  const messages = Object.values(constraints);
  // One line per field, with every rule it breaks ("must be an integer; must not be less than 0").
  const own = messages.some((m) => m.startsWith('property '))
    ? [`${path}: unknown option`]
    : messages.length > 0
      ? [`${path}: ${messages.join('; ')} (got ${describe(error.value)})`]
      : [];
  return [...own, ...(error.children ?? []).flatMap((child) => flatten(child, path))];
}

function isGuard(value: unknown): boolean {
  if (typeof value === 'function') return typeof (value.prototype as Partial<CanActivate> | undefined)?.canActivate === 'function';
  return typeof value === 'object' && value !== null && typeof (value as CanActivate).canActivate === 'function';
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
