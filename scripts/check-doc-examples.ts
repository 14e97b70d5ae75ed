/*
 * Type-checks the documentation's complete examples (the blocks marked `<!-- example: group/file.ts -->`
 * in README.md and docs/) as test/e2e/doc-examples.e2e-spec.ts does, for writers who want the answer
 * without running Jest: `npx ts-node -T scripts/check-doc-examples.ts`.
 */
import { checkExamples, describeFailures, documentationExamples } from '../test/helpers/doc-examples';
import { emitDeclarations } from '../test/helpers/type-check';

const examples = documentationExamples();
const failures = describeFailures(checkExamples(examples, emitDeclarations()));
for (const failure of failures) console.log(failure);
const groups = new Set(examples.map((example) => example.group));
console.log(
  `${examples.length} example files in ${groups.size} groups (${[...groups].join(', ')}): ${failures.length === 0 ? 'all compile' : `${failures.length} do not compile`}`,
);
process.exitCode = failures.length === 0 ? 0 : 1;
