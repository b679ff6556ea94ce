export * from './builder.ts';
export * from './compile.ts';
export * from './expression.ts';
export * from './generate.ts';
