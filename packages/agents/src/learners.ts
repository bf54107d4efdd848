/**
 * The built-in algorithms by name: a learner (or an acting-only player) of `algo` for one group's
 * observations, its hyperparameters checked against the algorithm's schema. Used by both trainers
 * (trainer.ts, and SelfPlay on it), checkpoints and the thread pool's workers.
 */
import { type Environment, GibbsError, type Rng } from '@gibbs/core';
import { AC, ACConfig } from './ac.ts';
import { IL } from './il.ts';
import { MFAC, MFACConfig } from './mfac.ts';
import { MFQ, MFQConfig } from './mfq.ts';
import type { NetShape } from './nets.ts';
import { ALGOS, type Algo, type Learner } from './policy.ts';

/** The hyperparameter schema of each algorithm. */
export const ALGO_CONFIGS = {
  mfq: MFQConfig,
  il: MFQConfig,
  mfac: MFACConfig,
  ac: ACConfig,
} as const;

/** A learner of `algo` for observations of `shape`; `config` overrides its defaults. */
export function createLearner(
  algo: Algo,
  shape: Omit<NetShape, 'meanAction'>,
  config: Record<string, unknown>,
  rng: Rng,
): Learner {
  if (!(ALGOS as readonly string[]).includes(algo)) {
    throw GibbsError.invalid('algo', algo, `one of ${ALGOS.join(', ')}`);
  }
  const schema = ALGO_CONFIGS[algo];
  const parsed = schema.strict().safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.') || String((issue as { keys?: string[] }).keys?.[0] ?? '');
    throw new GibbsError(
      `${algo} config: ${key}: ${issue.message}; valid keys: ${Object.keys(schema.shape).join(', ')}`,
      `config.${key}`,
      (config as Record<string, unknown>)[key],
      issue.message,
    );
  }
  switch (algo) {
    case 'mfq':
      return new MFQ(shape, parsed.data as MFQConfig, rng);
    case 'il':
      return new IL(shape, parsed.data as MFQConfig, rng);
    case 'mfac':
      return new MFAC(shape, parsed.data as MFACConfig, rng);
    case 'ac':
      return new AC(shape, parsed.data as ACConfig, rng);
  }
}

/** An acting-only copy of an algorithm (an opponent or an evaluated checkpoint): no big memory. */
export function createPlayer(
  algo: Algo,
  shape: Omit<NetShape, 'meanAction'>,
  config: Record<string, unknown>,
  rng: Rng,
): Learner {
  const small = algo === 'mfq' || algo === 'il' ? { replayCapacity: 2 } : { memoryCapacity: 2 };
  return createLearner(algo, shape, { ...config, ...small }, rng);
}

/** The network input shape of one group of an environment. */
export function groupShape(env: Environment, g: number): Omit<NetShape, 'meanAction'> {
  const s = env.spec.groups[g];
  return {
    view: s.view ? { height: s.view.height, width: s.view.width, channels: s.view.channels } : null,
    features: s.features,
    actions: s.actions,
  };
}

export function sameShape(
  a: Omit<NetShape, 'meanAction'>,
  b: Omit<NetShape, 'meanAction'>,
): boolean {
  const va = a.view;
  const vb = b.view;
  const views =
    va === null || vb === null
      ? va === vb
      : va.height === vb.height && va.width === vb.width && va.channels === vb.channels;
  return views && a.features === b.features && a.actions === b.actions;
}

export function describeShape(s: Omit<NetShape, 'meanAction'>): string {
  const v = s.view ? `view ${s.view.height}x${s.view.width}x${s.view.channels}` : 'no view';
  return `${v}, ${s.features} features, ${s.actions} actions`;
}
