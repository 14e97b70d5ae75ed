import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/child-process';
import { emitDeclarations, STRICT_APP, typeCheck } from '../helpers/type-check';

/*
 * The README's complete example of an app with several databases, type-checked as a user's strict
 * compiler would check it against the package's declarations: the section cannot drift from the API.
 */

jest.setTimeout(120_000);

/** The first TypeScript block of a README section that starts with `// app.module.ts`. */
function exampleOf(section: string): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${section}\n`);
  expect(start).toBeGreaterThan(-1);
  const block = /```ts\n(\/\/ app\.module\.ts\n[\s\S]*?)```/.exec(readme.slice(start))?.[1];
  if (block === undefined) throw new Error(`no "// app.module.ts" example in README section "${section}"`);
  return block;
}

describe('README: several databases in one app', () => {
  it('compiles against the package declarations', () => {
    const source = exampleOf('Several databases in one app');
    const diagnostics = typeCheck({ 'several-databases-example.ts': source }, emitDeclarations(), { ...STRICT_APP, skipLibCheck: true });
    expect(diagnostics['several-databases-example.ts']).toEqual([]);
  });

  it('fails to compile when the example names something the package does not export', () => {
    const source = exampleOf('Several databases in one app').replace('InjectAutoMigrationService,', 'InjectAutoMigrationServiceX,');
    const diagnostics = typeCheck({ 'several-databases-example.ts': source }, emitDeclarations(), { ...STRICT_APP, skipLibCheck: true });
    expect(diagnostics['several-databases-example.ts'].length).toBeGreaterThan(0);
  });
});
