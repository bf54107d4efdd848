export { builtinExperiments, loadExperiment } from './repo.ts';
export { executeRun, type RunConfig, type RunOutcome } from './run.ts';
export * from './sweep/index.ts';
