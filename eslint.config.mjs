// @ts-check
// Nest 11's default flat config (@eslint/js, typescript-eslint's type-checked rules, Prettier as a
// rule), with the project's own overrides below. `npm run lint` runs it with a cache in
// node_modules/.cache/eslint/ and fails on any warning.
import eslint from '@eslint/js';
import eslintPluginPrettierRecommended from 'eslint-plugin-prettier/recommended';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'eslint.config.mjs',
      'jest.config.js',
      'dist/**',
      'build/**',
      'coverage/**',
      '**/node_modules/**',
      // Needs bench/node_modules (knex, typeorm, umzug); type-checked by bench/tsconfig.json instead.
      'bench/peers/**',
      // Plain JavaScript run as it is (the NestJS 12 check, the packed-tarball app, the CLI's ESM app).
      'compat/**',
      'scripts/**',
      'test/*.js',
      'test/fixtures/pack-app/**',
      'test/fixtures/cli/esm/**',
      // Frozen test oracle: never edited (see its header and .prettierignore).
      'test/unit/fixtures/source-normalizer-v1.ts',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  eslintPluginPrettierRecommended,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.jest },
      sourceType: 'commonjs',
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
