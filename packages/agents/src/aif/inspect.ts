/**
 * What the inspector shows for one active-inference agent: beliefs over each hidden-state factor,
 * q(pi), -G per policy and its parts, the action marginals and F (core's AgentInspection).
 */
import type { AgentInspection } from '@gibbs/core';
import type { AifAgents } from './agent.ts';

export interface AifLabels {
  /** Names of the hidden-state factors (default "factor f"). */
  readonly factors?: readonly string[];
  /** State names per factor. */
  readonly states?: readonly (readonly string[] | undefined)[];
  /** Action names per factor (policies are labelled with them, steps joined by " > "). */
  readonly actions?: readonly (readonly string[] | undefined)[];
}

/** Policy p as text: per step, the actions of the controlled factors. */
export function policyLabel(agents: AifAgents, p: number, labels: AifLabels = {}): string {
  const { policyLen: L, F, policies, numControls } = agents.layout;
  const steps: string[] = [];
  for (let tau = 0; tau < L; tau++) {
    const parts: string[] = [];
    for (let f = 0; f < F; f++) {
      if (numControls[f] <= 1) continue;
      const a = policies[(p * L + tau) * F + f];
      parts.push(labels.actions?.[f]?.[a] ?? String(a));
    }
    steps.push(parts.join('+'));
  }
  return steps.join(' > ');
}

export function inspectAif(
  agents: AifAgents,
  group: string,
  slot: number,
  labels: AifLabels = {},
  values: Record<string, number> = {},
): AgentInspection {
  const { F, P, U, numStates, numControls, uOffset } = agents.layout;
  const distributions: Record<string, number[]> = {};
  const lab: Record<string, string[]> = {};
  for (let f = 0; f < F; f++) {
    const name = `beliefs: ${labels.factors?.[f] ?? `factor ${f}`}`;
    distributions[name] = Array.from(agents.beliefs(slot, f));
    const st = labels.states?.[f];
    if (st && st.length === numStates[f]) lab[name] = [...st];
  }
  const row = (a: Float64Array) => Array.from(a.subarray(slot * P, (slot + 1) * P));
  const policyNames = Array.from({ length: P }, (_, p) => policyLabel(agents, p, labels));
  const perPolicy: Record<string, Float64Array> = {
    'q(pi)': agents.efe.qPi,
    '-G (neg EFE)': agents.efe.negEfe,
    'EFE: utility': agents.efe.utility,
    'EFE: state info gain': agents.efe.stateInfoGain,
    'EFE: param info gain': agents.efe.paramInfoGain,
  };
  for (const [k, v] of Object.entries(perPolicy)) {
    distributions[k] = row(v);
    lab[k] = policyNames;
  }
  for (let f = 0; f < F; f++) {
    if (numControls[f] <= 1) continue;
    const name = `action marginal: ${labels.factors?.[f] ?? `factor ${f}`}`;
    const off = slot * U + uOffset[f];
    distributions[name] = Array.from(agents.efe.marginals.subarray(off, off + numControls[f]));
    const an = labels.actions?.[f];
    if (an) lab[name] = [...an];
  }
  return {
    group,
    slot,
    values: {
      ...values,
      F: agents.F[slot],
      belief_entropy: agents.beliefEntropy(slot),
      fpi_iterations: agents.iterations[slot],
    },
    distributions,
    labels: lab,
  };
}

/**
 * Means over the agents in `mask` (all when omitted) of F, belief entropy and the q(pi)-weighted
 * parts of -G: the population's free-energy budget for a metrics record.
 */
export function aifSummary(agents: AifAgents, mask?: Uint8Array): Record<string, number> {
  const { P } = agents.layout;
  const e = agents.efe;
  let n = 0;
  let F = 0;
  let H = 0;
  let u = 0;
  let sig = 0;
  let pig = 0;
  let g = 0;
  for (let i = 0; i < agents.count; i++) {
    if (mask && !mask[i]) continue;
    n++;
    F += agents.F[i];
    H += agents.beliefEntropy(i);
    for (let p = 0; p < P; p++) {
      const q = e.qPi[i * P + p];
      u += q * e.utility[i * P + p];
      sig += q * e.stateInfoGain[i * P + p];
      pig += q * e.paramInfoGain[i * P + p];
      g += q * e.negEfe[i * P + p];
    }
  }
  const d = Math.max(1, n);
  return {
    free_energy: F / d,
    belief_entropy: H / d,
    efe: -g / d,
    efe_utility: u / d,
    efe_state_info_gain: sig / d,
    efe_param_info_gain: pig / d,
  };
}
