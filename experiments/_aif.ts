/**
 * Shared by the active-inference experiments aif-forage, aif-mixed and tmaze (not an experiment
 * itself: files starting with "_" are not listed): the forage world's options, the agent config
 * they build from their options, the agents playing a group (AifPlayer), the inspection of a
 * forager, and the simulation object the runner drives.
 */
import type { AifAgents } from '@gibbs/agents/aif/agent';
import { aifSummary, inspectAif } from '@gibbs/agents/aif/inspect';
import type { AgentConfig } from '@gibbs/agents/aif/model';
import type {
  AgentInspection,
  EpisodeSummary,
  MetricRecord,
  RenderFrame,
  Simulation,
} from '@gibbs/core';
import { type AifForageEnv, FORAGE_ACTIONS } from '@gibbs/env/aif-forage';
import { z } from 'zod';

/**
 * A batch of active-inference agents playing one group of a world whose features are their
 * categorical observations (one per modality): at each new episode their beliefs start again from
 * the priors (what they learned of A is kept); each step they infer, plan and choose.
 */
export class AifPlayer {
  /** The free-energy budget of the last step (aifSummary). */
  budget: Record<string, number> = {};
  private readonly obs: Int32Array;
  private episode = 0;

  constructor(
    readonly agents: AifAgents,
    modalities: number,
  ) {
    this.obs = new Int32Array(agents.count * modalities);
  }

  /** The chosen action of every agent and factor (agent-major), for episode `episode`. */
  act(features: Float32Array, episode: number): Int32Array {
    if (episode !== this.episode) {
      this.agents.reset();
      this.episode = episode;
    }
    for (let i = 0; i < this.obs.length; i++) this.obs[i] = features[i];
    const actions = this.agents.step(this.obs);
    this.budget = aifSummary(this.agents);
    return actions;
  }
}

/** The forage map's size (spread into an experiment's params). */
export const forageMapParams = {
  width: z.number().int().min(4).max(4096).default(32).describe('grid width'),
  height: z.number().int().min(4).max(4096).default(32).describe('grid height'),
};

/** The forage world's food and smell (spread into an experiment's params). */
export const forageFoodParams = {
  food: z.number().int().min(1).default(96).describe('food items (constant)'),
  smellNoise: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('probability of a random smell reading'),
};

/** The agent config of these options, with FPI inference (10 iterations, dF tolerance 0.001). */
export function aifAgentConfig(
  p: {
    policyLen: number;
    gamma: number;
    alpha: number;
    utility: boolean;
    stateInfoGain: boolean;
    selection: 'deterministic' | 'stochastic';
  },
  paramInfoGain: boolean,
): AgentConfig {
  return {
    policyLen: p.policyLen,
    gamma: p.gamma,
    alpha: p.alpha,
    useUtility: p.utility,
    useStatesInfoGain: p.stateInfoGain,
    useParamInfoGain: paramInfoGain,
    actionSelection: p.selection,
    inference: { algo: 'fpi', numIter: 10, dFTol: 0.001 },
  };
}

/**
 * What the inspector shows for forager `slot` (also its slot in `env`), whose model tracks food in
 * a window of half-width `radius`.
 */
export function inspectForager(
  agents: AifAgents,
  env: AifForageEnv,
  slot: number,
  radius: number,
): AgentInspection {
  const side = 2 * radius + 1;
  const states = Array.from(
    { length: side * side },
    (_, s) => `(${(s % side) - radius},${Math.floor(s / side) - radius})`,
  );
  states.push('far');
  return inspectAif(
    agents,
    'foragers',
    slot,
    { factors: ['food offset'], states: [states], actions: [[...FORAGE_ACTIONS]] },
    { x: env.x[slot], y: env.y[slot], food_eaten: env.eaten[slot] },
  );
}

/** What the runner drives: one of these experiments' simulation classes. */
export function aifSimulation(sim: {
  readonly env: { render(): RenderFrame };
  advance(): void;
  metrics(): MetricRecord;
  drainEpisodes(): EpisodeSummary[];
  inspect(group: number, slot: number): AgentInspection | null;
}): Simulation {
  return {
    advance: () => sim.advance(),
    metrics: () => sim.metrics(),
    drainEpisodes: () => sim.drainEpisodes(),
    frame: () => sim.env.render(),
    inspect: (g, s) => sim.inspect(g, s),
  };
}
