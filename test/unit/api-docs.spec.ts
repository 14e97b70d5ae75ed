/*
 * Every symbol the package exports carries a doc comment of its own. `npm run docs` (TypeDoc) fails on
 * an undocumented symbol, but a class that extends a documented class inherits its summary there,
 * so a new error class without a word about when it is thrown would pass it: this test does not.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../helpers/child-process';

const INDEX = join(REPO_ROOT, 'src', 'auto-migration', 'index.ts');

/** The exported names whose declarations have no doc comment of their own, with where they are declared. */
function undocumentedExports(files: Record<string, string> = {}): string[] {
  const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, experimentalDecorators: true, noEmit: true };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (path) => files[path] ?? read(path);
  host.getSourceFile = (path, language, ...rest) =>
    files[path] === undefined ? getSourceFile(path, language, ...rest) : ts.createSourceFile(path, files[path], language, true);
  const program = ts.createProgram([INDEX], options, host);
  const checker = program.getTypeChecker();
  const index = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
  const missing: string[] = [];
  for (const exported of checker.getExportsOfModule(index)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    // Overloads share one comment, on the first signature.
    const declarations = symbol.declarations ?? [];
    const documented = declarations.some((declaration) =>
      ts.getJSDocCommentsAndTags(declaration).some((doc) => ts.isJSDoc(doc) && (doc.comment ?? '').toString().trim() !== ''),
    );
    if (!documented) missing.push(`${exported.name} (${declarations[0]?.getSourceFile().fileName.replace(`${REPO_ROOT}/`, '')})`);
  }
  return missing;
}

describe('the API reference', () => {
  it('every exported symbol has a doc comment of its own', () => {
    expect(undocumentedExports()).toEqual([]);
  });

  it('notices an exported class whose only documentation is its base class', () => {
    const path = join(REPO_ROOT, 'src', 'auto-migration', 'errors', 'lock-held.error.ts');
    const source = ts.sys.readFile(path)!;
    const stripped = source.replace(/\/\*\*[\s\S]*?\*\/\s*(?=export class LockHeldError)/, '');
    expect(stripped).not.toEqual(source);
    expect(undocumentedExports({ [path]: stripped })).toEqual(['LockHeldError (src/auto-migration/errors/lock-held.error.ts)']);
  });
});
