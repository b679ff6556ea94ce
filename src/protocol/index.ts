export * from './audit-chain.ts';
export * from './canonical-json.ts';
export * from './env.ts';
export * from './errors.ts';
export * from './feasibility.ts';
export * from './reports.ts';
export * from './signing.ts';
export * from './wire.ts';
