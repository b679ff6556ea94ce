export * from './migrations.ts';
export * from './open.ts';
export * from './store.ts';
