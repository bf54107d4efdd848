/**
 * The case runner behind `gibbs aif replay`: one agent steps through a fixed observation sequence
 * and reports, at every step, what it inferred and chose (the format of docs/active-inference.md).
 */
import { AifAgents } from './agent.ts';
import { parseCase, type ReplayCase } from './model.ts';

export interface ReplayStep {
  qs: number[][];
  q_pi: number[];
  neg_efe: number[];
  utility: number[];
  state_info_gain: number[];
  param_info_gain: number[];
  action: number[];
  F: number;
}

export interface ReplayOutput {
  steps: ReplayStep[];
}

/** Replay a parsed case (see parseCase); deterministic for a given seed. */
export function replayCase(c: ReplayCase, seed = 0): ReplayOutput {
  const agents = new AifAgents({ model: c.model, config: c.config, count: 1, seed });
  const { F, M, P, numStates } = agents.layout;
  const obs = new Int32Array(M);
  const steps: ReplayStep[] = [];
  for (const o of c.observations) {
    obs.set(o);
    const actions = agents.step(obs);
    const row = (a: Float64Array) => Array.from(a.subarray(0, P));
    steps.push({
      qs: numStates.map((_, f) => Array.from(agents.beliefs(0, f))),
      q_pi: row(agents.efe.qPi),
      neg_efe: row(agents.efe.negEfe),
      utility: row(agents.efe.utility),
      state_info_gain: row(agents.efe.stateInfoGain),
      param_info_gain: row(agents.efe.paramInfoGain),
      action: Array.from(actions.subarray(0, F)),
      F: agents.F[0],
    });
  }
  return { steps };
}

/** Parse and replay the content of a case file. */
export function replayJson(json: unknown, seed = 0): ReplayOutput {
  return replayCase(parseCase(json), seed);
}
