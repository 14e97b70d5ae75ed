import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

/*
 * class-validator schema of the options. Kept apart from the public interfaces so that users'
 * type declarations carry no decorators, and so every bad field is reported in one pass.
 */

const notFalse = (field: string) => ValidateIf((o: Record<string, unknown>) => o[field] !== undefined && o[field] !== false);

export class BackupOptionsSchema {
  @IsOptional() @IsString() @IsNotEmpty() dir?: string;
  @IsOptional() @IsInt() @Min(1) keep?: number;
  @IsOptional() @IsIn(['quick', 'full']) verify?: string;
}

export class LockOptionsSchema {
  @IsOptional() @IsInt() @Min(0) timeoutMs?: number;
  @IsOptional() @IsInt() @Min(1) staleAfterMs?: number;
}

const lowerCase = () => Transform(({ value }) => (typeof value === 'string' ? value.toLowerCase() : value));

export class PragmasSchema {
  @IsOptional() @IsInt() @Min(0) busy_timeout?: number;
  @IsOptional() @lowerCase() @IsIn(['delete', 'truncate', 'persist', 'memory', 'wal', 'off']) journal_mode?: string;
  @IsOptional() @lowerCase() @IsIn(['off', 'normal', 'full', 'extra']) synchronous?: string;
  @IsOptional() @IsBoolean() foreign_keys?: boolean;
  @IsOptional() @IsInt() cache_size?: number;
}

export class StatusControllerSchema {
  @IsOptional()
  @IsString()
  @Matches(/^\/?[A-Za-z0-9_.~:-]+(?:\/[A-Za-z0-9_.~:-]+)*\/?$/, { message: 'path must be a plain URL path such as "migrations/status"' })
  path?: string;
  // Guards are classes or instances: checked by hand, because class-transformer would copy them.
  guards?: unknown;
}

export class AutoMigrationOptionsSchema {
  @IsString() @IsNotEmpty() database!: string;

  @notFalse('backup')
  @IsObject({ message: 'backup must be an object or false' })
  @ValidateNested()
  @Type(() => BackupOptionsSchema)
  backup?: BackupOptionsSchema | false;

  @IsOptional() @IsObject() @ValidateNested() @Type(() => LockOptionsSchema) lock?: LockOptionsSchema;

  @IsOptional() @IsBoolean() failOnError?: boolean;

  @IsOptional() @IsIn([true, false, 'warn'], { message: "validateChecksums must be true, false or 'warn'" }) validateChecksums?: boolean | 'warn';

  @IsOptional() @IsIn(['each', 'all']) transactionMode?: string;

  @IsOptional() @IsObject() @ValidateNested() @Type(() => PragmasSchema) pragmas?: PragmasSchema;

}
