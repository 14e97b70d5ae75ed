import { join } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './child-process';

/** A strict Nest app's settings, with the package's declarations checked too. */
export const STRICT_APP: ts.CompilerOptions = {
  strict: true,
  skipLibCheck: false,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  target: ts.ScriptTarget.ES2022,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  types: ['node'],
};

/** One compiler message, as a user's `tsc` prints it: `TS<code>` and the text. */
export interface TypeDiagnostic {
  code: number;
  message: string;
}

/** Where the declarations live while they are checked: never written, only served to the compiler (inside the repo, so that their imports resolve from its node_modules). */
const DECLARATIONS_DIR = join(REPO_ROOT, '.tmp', 'declarations');

/**
 * The package's declaration files (`dist/*.d.ts` as `npm pack` would ship them), emitted in
 * memory from the sources with the build's settings. Keyed by the path the compiler gives them.
 */
export function emitDeclarations(): Map<string, string> {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(REPO_ROOT, 'tsconfig.build.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  );
  if (config === undefined) throw new Error('tsconfig.build.json could not be read');
  const program = ts.createProgram(config.fileNames, { ...config.options, outDir: DECLARATIONS_DIR, emitDeclarationOnly: true, declaration: true });
  const declarations = new Map<string, string>();
  program.emit(undefined, (path, text) => declarations.set(path, text));
  return declarations;
}

/**
 * Type-checks in-memory consumer files as if they sat in the repo root (so that they resolve
 * `better-sqlite3`, its types and the repo's other packages as a user's app would), against the
 * package's `declarations` for `'nestjs-auto-migration'`. Returns the messages about each
 * consumer file by its name, and under `'declarations'` those about the package's own
 * declarations (reported only with `skipLibCheck: false`, as a strict user's `tsc` would).
 * `without` names packages the app has not installed: neither they nor their `@types` resolve.
 */
export function typeCheck(
  files: Record<string, string>,
  declarations: Map<string, string>,
  compilerOptions: ts.CompilerOptions,
  { without = [] }: { without?: readonly string[] } = {},
): Record<string, TypeDiagnostic[]> {
  const hidden = without.flatMap((name) => [join(REPO_ROOT, 'node_modules', name), join(REPO_ROOT, 'node_modules', '@types', name)]);
  const isHidden = (path: string) => hidden.some((folder) => path === folder || path.startsWith(`${folder}/`));
  const consumers = new Map(Object.entries(files).map(([name, source]) => [join(REPO_ROOT, name), source]));
  const virtual = new Map([...consumers, ...declarations]);
  const options: ts.CompilerOptions = {
    ...compilerOptions,
    noEmit: true,
    baseUrl: REPO_ROOT,
    paths: { 'nestjs-auto-migration': [join(DECLARATIONS_DIR, 'index.d.ts')] },
  };
  const base = ts.createCompilerHost(options);
  const host: ts.CompilerHost = {
    ...base,
    fileExists: (path) => virtual.has(path) || (!isHidden(path) && base.fileExists(path)),
    directoryExists: (path) =>
      path === DECLARATIONS_DIR ||
      path.startsWith(`${DECLARATIONS_DIR}/`) ||
      [...consumers.keys()].some((file) => file.startsWith(`${path}/`)) ||
      (!isHidden(path) && (base.directoryExists?.(path) ?? true)),
    readFile: (path) => virtual.get(path) ?? base.readFile(path),
    getSourceFile: (path, language, ...rest) => {
      const source = virtual.get(path);
      return source === undefined ? base.getSourceFile(path, language, ...rest) : ts.createSourceFile(path, source, language);
    },
  };
  const program = ts.createProgram([...consumers.keys()], options, host);
  const describe = (d: ts.Diagnostic): TypeDiagnostic => ({
    code: d.code,
    message: `${d.file ? `${d.file.fileName}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
  });
  const result: Record<string, TypeDiagnostic[]> = {};
  for (const name of Object.keys(files)) result[name] = ts.getPreEmitDiagnostics(program, program.getSourceFile(join(REPO_ROOT, name))).map(describe);
  result.declarations = [...declarations.keys()].flatMap((path) => {
    const file = program.getSourceFile(path);
    return file === undefined ? [] : [...program.getSemanticDiagnostics(file)].map(describe);
  });
  return result;
}
