export { builtinExperiments, loadExperiment } from './repo.ts';
export { executeRun, gibbsVersion, type RunConfig, type RunOutcome } from './run.ts';
// The sweep API is @gibbs/sweep's; what a sweep needs of the CLI is its run entry and version.
export { SWEEP_CHILD } from './sweep-package.ts';
