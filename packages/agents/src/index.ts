/** Agents on core's contract: mean-field (MF-Q, MF-AC), independent baselines, active inference. */
export * from './ac.ts';
export * as aif from './aif/index.ts';
export * from './crossplay.ts';
export * from './il.ts';
export * from './ising-mfq.ts';
export * from './learners.ts';
export * from './mfac.ts';
export * from './mfq.ts';
export * from './nets.ts';
export * from './policy.ts';
export * from './pool/index.ts';
export * from './replay.ts';
export * from './selfplay.ts';
export * from './trainer.ts';
