import type { Type } from '@nestjs/common';
import ts from 'typescript';

/** TypeScript source compiled to CommonJS with `compilerOptions` and loaded: the JavaScript it became and its exports. */
export function compileModule(source: string, compilerOptions: ts.CompilerOptions): { js: string; exports: Record<string, Type<unknown>> } {
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, ...compilerOptions } }).outputText;
  const exports: Record<string, Type<unknown>> = {};
  new Function('exports', js)(exports);
  return { js, exports };
}

/** Two builds of one source, as two releases built with different settings would produce it. */
export const TWO_BUILDS: readonly ts.CompilerOptions[] = [
  { target: ts.ScriptTarget.ES2019, removeComments: false },
  { target: ts.ScriptTarget.ES2022, removeComments: true },
];
