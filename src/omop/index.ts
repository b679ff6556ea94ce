export * from './csv.ts';
export * from './ddl.ts';
export * from './schema.ts';
