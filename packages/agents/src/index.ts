/** Agents on core's contract: mean-field (MF-Q, MF-AC), independent baselines, active inference. */
export {};
