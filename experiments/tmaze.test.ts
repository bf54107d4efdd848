/**
 * The T-maze with active inference (reward probability 0.98, preferences +3 / -3, start at the
 * centre): with every EFE term on, every deterministic trial visits the cue first and then the
 * rewarded arm; without the state information gain the cue is never visited.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TMAZE_CUE } from '@gibbs/env/tmaze';
import { describe, expect, it } from 'vitest';
import experiment, { TmazeSimulation, tmazeModel, tmazeParams } from './tmaze.ts';

const CASE = resolve(
  import.meta.dirname,
  '../packages/agents/test/conformance/pymdp/tmaze_len1.json',
);

function run(over: Record<string, unknown>, trials = 2, agents = 400) {
  const params = tmazeParams.parse({ agents, ...over });
  const sim = new TmazeSimulation(params, 11);
  let cueVisits = 0;
  for (let s = 0; s < trials * params.trialLength; s++) {
    if (s % params.trialLength === params.trialLength - 1) {
      // Just before the trial ends (and the mazes reset), count agents that saw the cue first.
      for (let i = 0; i < agents; i++) if (sim.env.firstVisit[i] === TMAZE_CUE) cueVisits++;
    }
    sim.advance();
  }
  return { sim, cueVisits };
}

describe('tmaze experiment', () => {
  it("builds pymdp's T-maze generative model", () => {
    const m = JSON.parse(readFileSync(CASE, 'utf8')).model;
    const ours = tmazeModel(0.98, 3);
    const same = (a: ArrayLike<number>, b: number[]) => {
      expect(a.length).toBe(b.length);
      for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-12);
    };
    for (let i = 0; i < 3; i++) same(ours.A[i].data, m.A[i].flat(3));
    for (let i = 0; i < 2; i++) same(ours.B[i].data, m.B[i].flat(3));
    for (let i = 0; i < 3; i++) same(ours.C[i] as Float64Array, m.C[i]);
    for (let i = 0; i < 2; i++) same(ours.D[i], m.D[i]);
  });

  it('all terms on: 100 % of deterministic trials go to the cue, then to the rewarded arm', () => {
    const { sim } = run({});
    expect(sim.trials).toBe(800);
    expect(sim.successes).toBe(800);
    expect(sim.metrics().values.cue_then_reward).toBe(1);
  });

  it('the same with a two-step horizon (16 policies)', () => {
    const { sim } = run({ policyLen: 2 }, 1, 100);
    expect(sim.successes).toBe(sim.trials);
  });

  it('state information gain off: cue-seeking disappears', () => {
    const { sim, cueVisits } = run({ stateInfoGain: false });
    expect(cueVisits).toBe(0);
    expect(sim.successes).toBe(0);
  });

  it('inspect shows beliefs, EFE parts per policy and F', async () => {
    const s = await experiment.create({ params: tmazeParams.parse({ agents: 3 }), seed: 1 });
    s.advance();
    const ins = s.inspect?.(0, 2);
    expect(ins?.distributions['beliefs: context']).toHaveLength(2);
    expect(ins?.distributions['EFE: state info gain']).toHaveLength(4);
    expect(ins?.labels?.['q(pi)']).toEqual(['centre', 'right', 'left', 'cue']);
    expect(Number.isFinite(ins?.values.F)).toBe(true);
    expect(s.inspect?.(0, 3)).toBeNull();
  });
});
