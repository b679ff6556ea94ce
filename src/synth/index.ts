export * from './codes.ts';
export * from './fhir.ts';
export * from './ids.ts';
export * from './korea.ts';
export * from './model.ts';
export * from './person.ts';
export * from './synthesize.ts';
export * from './vocabulary.ts';
