export { AutoMigrationError } from './auto-migration.error';
export { DatabaseOpenError } from './database-open.error';
export { DuplicateMigrationError } from './duplicate-migration.error';
export { InvalidMigrationError } from './invalid-migration.error';
export { InvalidOptionsError } from './invalid-options.error';
export { LockTimeoutError } from './lock-timeout.error';
export { MigrationFailedError } from './migration-failed.error';
export { MixedPrefixWidthError } from './mixed-prefix-width.error';
