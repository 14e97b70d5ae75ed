/*
 * Type-checks the documentation's complete examples (the blocks marked `<!-- example: group/file.ts -->`
 * in README.md and docs/) as test/e2e/doc-examples.e2e-spec.ts does, for writers who want the answer
 * without running Jest: `npx ts-node -T scripts/check-doc-examples.ts`.
 */
import { checkExamples, documentationExamples } from '../test/helpers/doc-examples';
import { emitDeclarations } from '../test/helpers/type-check';

const examples = documentationExamples();
let failed = 0;
for (const [example, diagnostics] of checkExamples(examples, emitDeclarations())) {
  if (diagnostics.length === 0) continue;
  failed++;
  console.log(`${example.where} ${example.group}/${example.path}`);
  for (const diagnostic of diagnostics) console.log(`  TS${diagnostic.code}: ${diagnostic.message}`);
}
const groups = new Set(examples.map((example) => example.group));
console.log(
  `${examples.length} example files in ${groups.size} groups (${[...groups].join(', ')}): ${failed === 0 ? 'all compile' : `${failed} do not compile`}`,
);
process.exitCode = failed === 0 ? 0 : 1;
