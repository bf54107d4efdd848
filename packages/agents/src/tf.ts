/** The tfjs module the agents run on, for code outside this package (benchmarks, experiments). */
export * as tf from '@tensorflow/tfjs';
