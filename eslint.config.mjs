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
      // As in Nest's default config: `any` is sometimes the honest type at the framework's edges;
      // the no-unsafe-* rules still catch what flows out of it.
      '@typescript-eslint/no-explicit-any': 'off',
      // A leading underscore marks a parameter kept for its position or its decorator (Nest's
      // injection order), as TypeScript's own convention.
      // `({ instance, ...rest }) => rest` leaves a field out on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `let service!: Service` read in a callback defined before the value exists cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests assert on untyped values by their shape (toEqual, toMatchObject): Jest's asymmetric
      // matchers (expect.any, expect.stringMatching, ...) are typed `any`, and so are supertest's
      // `body`, `app.getHttpServer()`, and the JSON that the CLI and the fixture apps print. A wrong
      // shape fails the assertion itself; typing each of these values would only restate it.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Test helpers build migration classes from source text on purpose (`new Function`): their
      // checksums are computed from that text, and compile.ts loads TypeScript compiled in memory.
      '@typescript-eslint/no-implied-eval': 'off',
    },
  },
);
