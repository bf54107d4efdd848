/**
 * Cross-play: two fixed agents (red plays group 0, blue group 1) over many episodes of a
 * two-group world, played side by side in `parallel` copies of the world so that every step is
 * one forward pass per side for all copies at once (a population-sized batch instead of many
 * small ones). Nothing is learned.
 *
 * As in SelfPlay, an agent sees its own group's mean one-hot action of the previous step (zero at
 * the first step of an episode), and the round's winner is the side with more kills (a draw when
 * equal). Episode e starts from episodeSeed(seed, e) (the same episodes for any `parallel`) and
 * every action comes from one seeded stream, in a fixed order: one seed and one `parallel` give
 * one result.
 */
import {
  type Environment,
  episodeSeed,
  GibbsError,
  groupMeanAction,
  Rng,
  type StepOutput,
  viewSize,
} from '@gibbs/core';
import type { ObsBatch } from './nets.ts';
import { act, type GroupAgent, sharedFloat32 } from './policy.ts';

export interface CrossPlayOptions {
  episodes: number;
  /** World copies played at once (default: min(episodes, 32)). */
  parallel?: number;
  seed: number;
  /** Boltzmann temperature of each side (Q-learners: low; actor-critics: 1, their policy). */
  temperatures: [number, number];
}

export interface SideResult {
  kills: number;
  reward_total: number;
  alive: number;
}

export interface CrossPlayEpisode {
  red: SideResult;
  blue: SideResult;
  length: number;
  winner: 'red' | 'blue' | 'draw';
  seed: number;
}

interface Slot {
  env: Environment;
  out: StepOutput | null;
  seed: number;
  steps: number;
  kills: [number, number];
  reward: [number, number];
  mean: [Float32Array, Float32Array];
  aliveBefore: [Uint8Array, Uint8Array];
  actions: [Int32Array, Int32Array];
}

export async function crossPlay(
  makeEnv: () => Environment,
  agents: [GroupAgent, GroupAgent],
  opts: CrossPlayOptions,
): Promise<CrossPlayEpisode[]> {
  if (!(Number.isInteger(opts.episodes) && opts.episodes >= 1))
    throw GibbsError.invalid('episodes', opts.episodes, 'an integer >= 1');
  const parallel = Math.min(opts.episodes, opts.parallel ?? 32);
  if (!(Number.isInteger(parallel) && parallel >= 1))
    throw GibbsError.invalid('parallel', opts.parallel, 'an integer >= 1');
  const rng = new Rng(opts.seed);
  const slots: Slot[] = [];
  for (let k = 0; k < parallel; k++) {
    const env = makeEnv();
    await env.ready?.();
    const gs = env.spec.groups;
    if (gs.length !== 2)
      throw GibbsError.invalid('environment.groups', gs.length, 'exactly 2 groups for cross-play');
    slots.push({
      env,
      out: null,
      seed: 0,
      steps: 0,
      kills: [0, 0],
      reward: [0, 0],
      mean: [new Float32Array(gs[0].actions), new Float32Array(gs[1].actions)],
      aliveBefore: [new Uint8Array(gs[0].capacity), new Uint8Array(gs[1].capacity)],
      actions: [new Int32Array(gs[0].capacity), new Int32Array(gs[1].capacity)],
    });
  }
  const groups = slots[0].env.spec.groups;
  // One staging batch per side for the rows of every copy, on shared memory (thread pools).
  const staging: ObsBatch[] = groups.map((g) => ({
    n: 0,
    view: sharedFloat32(parallel * g.capacity * viewSize(g)),
    features: sharedFloat32(parallel * g.capacity * g.features),
    mean: sharedFloat32(parallel * g.capacity * g.actions),
  }));
  const probs = groups.map((g) => sharedFloat32(parallel * g.capacity * g.actions));
  const chosen = groups.map((g) => new Int32Array(parallel * g.capacity));
  const owner = groups.map((g) => new Int32Array(parallel * g.capacity));

  const results: CrossPlayEpisode[] = [];
  let started = 0;
  const begin = (s: Slot): boolean => {
    if (started >= opts.episodes) {
      s.out = null;
      return false;
    }
    s.seed = episodeSeed(opts.seed, started);
    started++;
    s.out = s.env.reset(s.seed);
    s.steps = 0;
    s.kills = [0, 0];
    s.reward = [0, 0];
    s.mean[0].fill(0);
    s.mean[1].fill(0);
    return true;
  };
  for (const s of slots) begin(s);

  try {
    while (slots.some((s) => s.out)) {
      for (let g = 0; g < 2; g++) {
        const spec = groups[g];
        const vs = viewSize(spec);
        const fs = spec.features;
        const A = spec.actions;
        const b = staging[g];
        let n = 0;
        for (let k = 0; k < slots.length; k++) {
          const s = slots[k];
          if (!s.out) continue;
          const gs = s.out.groups[g];
          for (let i = 0; i < spec.capacity; i++) {
            if (!gs.alive[i]) continue;
            if (vs > 0) b.view.set(gs.view.subarray(i * vs, (i + 1) * vs), n * vs);
            if (fs > 0) b.features.set(gs.features.subarray(i * fs, (i + 1) * fs), n * fs);
            (b.mean as Float32Array).set(s.mean[g], n * A);
            owner[g][n++] = k * spec.capacity + i;
          }
        }
        b.n = n;
        if (n > 0) await act(agents[g], b, opts.temperatures[g], rng, chosen[g], probs[g]);
        for (const s of slots) if (s.out) s.actions[g].fill(0);
        for (let r = 0; r < n; r++) {
          const o = owner[g][r];
          const k = Math.floor(o / spec.capacity);
          slots[k].actions[g][o - k * spec.capacity] = chosen[g][r];
        }
      }
      for (const s of slots) {
        if (!s.out) continue;
        for (let g = 0; g < 2; g++) s.aliveBefore[g].set(s.out.groups[g].alive);
        const next = s.env.step(s.actions);
        s.steps++;
        for (let g = 0; g < 2; g++) {
          groupMeanAction(s.actions[g], s.aliveBefore[g], groups[g].actions, s.mean[g]);
          const gs = next.groups[g];
          for (let i = 0; i < groups[g].capacity; i++)
            if (s.aliveBefore[g][i]) s.reward[g] += gs.reward[i];
          const o = 1 - g;
          let deaths = 0;
          for (let i = 0; i < groups[o].capacity; i++)
            if (s.aliveBefore[o][i] && !next.groups[o].alive[i]) deaths++;
          const info = next.info[`kills.${groups[g].name}`];
          s.kills[g] += typeof info === 'number' ? info : deaths;
        }
        s.out = next;
        if (next.done) {
          const side = (g: number): SideResult => {
            let alive = 0;
            for (let i = 0; i < groups[g].capacity; i++) alive += next.groups[g].alive[i];
            return { kills: s.kills[g], reward_total: s.reward[g], alive };
          };
          results.push({
            red: side(0),
            blue: side(1),
            length: s.steps,
            winner: s.kills[0] > s.kills[1] ? 'red' : s.kills[1] > s.kills[0] ? 'blue' : 'draw',
            seed: s.seed,
          });
          begin(s);
        }
      }
    }
  } finally {
    for (const s of slots) await s.env.dispose?.();
  }
  return results;
}
