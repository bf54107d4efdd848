export * from './check.ts';
export * from './env.ts';
export * from './errors.ts';
export * from './experiment.ts';
export * from './frame.ts';
export * from './meanfield.ts';
export * from './rng.ts';
export * from './runner.ts';
