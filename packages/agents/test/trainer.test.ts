/**
 * PopulationTrainer on the small Melee world of three groups (and Duel, to compare with SelfPlay):
 * learning groups train (shared or separate networks), fixed groups do not, one seed gives one
 * trajectory, and the experiment's win rule decides win_rate.
 */
import { type MetricRecord, metricLine, Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Algo } from '../src/policy.ts';
import { createLearner, createPlayer, groupShape, SelfPlay } from '../src/selfplay.ts';
import {
  type EpisodeStats,
  type GroupRole,
  PopulationTrainer,
  type PopulationTrainerOptions,
} from '../src/trainer.ts';
import { DuelEnv } from './duel-env.ts';
import { MeleeEnv } from './melee-env.ts';

beforeAll(async () => {
  await initBackend();
});

const SMALL: Record<Algo, Record<string, unknown>> = {
  mfq: {
    net: 'population',
    batchSize: 16,
    learningStarts: 16,
    maxUpdatesPerRound: 4,
    replayCapacity: 512,
  },
  il: {
    net: 'population',
    batchSize: 16,
    learningStarts: 16,
    maxUpdatesPerRound: 4,
    replayCapacity: 512,
  },
  mfac: { net: 'population', batchSize: 16, maxUpdatesPerRound: 4, memoryCapacity: 512 },
  ac: { net: 'population', batchSize: 16, maxUpdatesPerRound: 4, memoryCapacity: 512 },
};

const melee = () => new MeleeEnv({ groups: 3, agents: 6, cells: 7, maxSteps: 12 });

/** Play every episode; the metrics of every step and the episodes' summaries. */
async function play(t: PopulationTrainer) {
  const rows: MetricRecord[] = [];
  while (!t.finished) {
    await t.advance();
    rows.push(t.metrics());
  }
  return { rows, episodes: t.drainEpisodes() };
}

/** Most agents alive at the end wins; a tie is no one's. */
const mostAlive = (e: EpisodeStats): number | null => {
  const alive = e.groups.map((g) => g.alive);
  const top = Math.max(...alive);
  return alive.filter((a) => a === top).length === 1 ? alive.indexOf(top) : null;
};

describe('PopulationTrainer', () => {
  it('three groups: two share one MF-Q network, the third plays a fixed network; one seed, one trajectory', async () => {
    const build = () => {
      const env = melee();
      const fixed = createPlayer('mfq', groupShape(env, 2), SMALL.mfq, new Rng(11));
      const options: PopulationTrainerOptions = {
        groups: [
          { learn: 'mfq', config: SMALL.mfq, network: 'tribe' },
          { learn: 'mfq', config: SMALL.mfq, network: 'tribe' },
          { play: fixed },
        ],
        episodes: 4,
        winner: mostAlive,
      };
      return { t: new PopulationTrainer(env, options, 5), fixed };
    };
    const a = build();
    expect(a.t.learners.length).toBe(1);
    expect(a.t.learnerOf(0)).toBe(a.t.learnerOf(1));
    expect(a.t.learnerOf(2)).toBeNull();
    const learnerBefore = a.t.learners[0].policyParams.flat();
    const fixedBefore = a.fixed.policyParams.flat();
    const first = await play(a.t);
    const learnerAfter = a.t.learners[0].policyParams.flat();
    const fixedAfter = a.fixed.policyParams.flat();
    await a.t.dispose();

    const b = build();
    const second = await play(b.t);
    await b.t.dispose();
    expect(second.rows.map(metricLine)).toEqual(first.rows.map(metricLine));
    expect(second.episodes).toEqual(first.episodes);

    // The shared network trained: finite loss, the same in both its groups; its weights moved.
    const last = first.rows[first.rows.length - 1];
    expect(Number.isFinite(last.groups.red.loss)).toBe(true);
    expect(last.groups.red.updates).toBeGreaterThan(0);
    expect(last.groups.green.loss).toBe(last.groups.red.loss);
    expect(last.groups.blue.loss).toBeUndefined();
    expect(learnerAfter).not.toEqual(learnerBefore);
    // The fixed network did not.
    expect(fixedAfter).toEqual(fixedBefore);
    // The win rule's winners, and the win rates they make (4 episodes: fewer than the window).
    expect(first.episodes.length).toBe(4);
    const names = ['red', 'green', 'blue'];
    const wins = [0, 0, 0];
    for (const e of first.episodes) {
      const alive = names.map((n) => e.groups[n].alive);
      const winner = e.values.winner;
      if (winner >= 0) {
        wins[winner]++;
        expect(alive[winner]).toBe(Math.max(...alive));
      }
      names.forEach((n, g) => {
        expect(e.groups[n].won).toBe(winner === g ? 1 : 0);
      });
    }
    names.forEach((n, g) => {
      expect(last.groups[n].win_rate).toBeCloseTo(wins[g] / 4, 12);
    });
  });

  for (const [x, y] of [
    ['mfac', 'ac'],
    ['il', 'mfq'],
  ] as [Algo, Algo][]) {
    it(`three groups: ${x} and ${y} learn apart, a plain function plays the third; the win rule's winner is the win rate`, async () => {
      const env = melee();
      let calls = 0;
      const groups: GroupRole[] = [
        { learn: x, config: SMALL[x] },
        { learn: y, config: SMALL[y] },
        {
          play: (obs, actions, ctx) => {
            calls++;
            expect(ctx.spec.name).toBe('blue');
            for (let i = 0; i < actions.length; i++) if (obs.alive[i]) actions[i] = ctx.rng.int(4);
          },
        },
      ];
      const t = new PopulationTrainer(env, { groups, episodes: 3, winner: () => 2 }, 9);
      expect(t.learners.map((l) => l.algo)).toEqual([x, y]);
      const before = t.learners.map((l) => l.policyParams.flat());
      // After one step, the inspector: a network group's agent shows the policy it acted from,
      // a function group's agent only what it did.
      await t.advance();
      const slot = (g: number) => [0, 1, 2, 3, 4, 5].find((s) => t.inspect(g, s)) ?? -1;
      const red = t.inspect(0, slot(0));
      expect(red?.labels?.policy).toEqual(['stay', 'left', 'right', 'attack']);
      expect(red?.distributions.policy.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(t.inspect(2, slot(2))?.distributions.policy).toBeUndefined();
      const { rows, episodes } = await play(t);
      const last = rows[rows.length - 1];
      expect(calls).toBe(rows.length + 1);
      for (const [k, n] of ['red', 'green'].entries()) {
        expect(Number.isFinite(last.groups[n].loss), n).toBe(true);
        expect(t.learners[k].policyParams.flat()).not.toEqual(before[k]);
      }
      expect(last.groups.red.loss).not.toBe(last.groups.green.loss);
      expect(last.groups.blue.policy_entropy).toBeUndefined();
      const rates = ['red', 'green', 'blue'].map((n) => last.groups[n].win_rate);
      expect(rates).toEqual([0, 0, 1]);
      expect(last.values.winner).toBe(2);
      expect(episodes.map((e) => e.values.winner)).toEqual([2, 2, 2]);
      await t.dispose();
    });
  }

  it('two groups, no shared network: it plays as SelfPlay does a learner against a fixed opponent', async () => {
    for (const algo of ['mfq', 'ac'] as Algo[]) {
      const env = () => new DuelEnv({ agents: 6, cells: 7, maxSteps: 12 });
      const make = (e: DuelEnv) => {
        const rng = new Rng(3);
        const learner = createLearner(algo, groupShape(e, 0), SMALL[algo], rng.fork());
        const opponent = createPlayer(algo, groupShape(e, 1), SMALL[algo], rng.fork());
        return { learner, opponent, seed: rng.u32() };
      };
      // SelfPlay with opponentTau 0: the opponent never follows the learner.
      const e1 = env();
      const s = make(e1);
      const sp = new SelfPlay(e1, s.learner, s.opponent, { rounds: 4, opponentTau: 0 }, s.seed);
      const spRows: MetricRecord[] = [];
      while (!sp.finished) {
        await sp.advance();
        spRows.push(sp.metrics());
      }
      await sp.dispose();

      const e2 = env();
      const p = make(e2);
      const t = new PopulationTrainer(
        e2,
        {
          groups: [{ learn: p.learner }, { play: p.opponent }],
          episodes: 4,
          // SelfPlay's rule: more kills.
          winner: (e) =>
            e.info['kills.red'] > e.info['kills.blue']
              ? 0
              : e.info['kills.blue'] > e.info['kills.red']
                ? 1
                : null,
        },
        p.seed,
      );
      const { rows } = await play(t);
      await t.dispose();

      expect(rows.length).toBe(spRows.length);
      rows.forEach((r, k) => {
        const q = spRows[k];
        for (const n of ['red', 'blue']) {
          expect(r.groups[n].alive, `${algo} step ${r.step} ${n}`).toBe(q.groups[n].alive);
          expect(r.groups[n].reward_mean).toBe(q.groups[n].reward_mean);
          expect(r.groups[n].policy_entropy).toBe(q.groups[n].policy_entropy);
        }
        expect(r.groups.red.loss).toBe(q.values.loss);
        expect(r.groups.red.temperature).toBe(q.values.temperature);
        expect(r.groups.red.win_rate).toBe(q.values.win_rate);
      });
      expect(Number.isFinite(rows[rows.length - 1].groups.red.loss)).toBe(true);
    }
  });

  it('two threads: one seed gives one trajectory, and the networks registered with the pool train', async () => {
    const run = async () => {
      const t = new PopulationTrainer(
        melee(),
        {
          groups: [
            { learn: 'mfq', config: SMALL.mfq },
            { learn: 'mfac', config: SMALL.mfac },
            { play: createPlayer('il', groupShape(melee(), 2), SMALL.il, new Rng(2)) },
          ],
          episodes: 2,
          threads: 2,
          // Split even these few rows, so that acting and gradients cross threads.
          pool: { minActRows: 2, minGradRows: 4 },
        },
        21,
      );
      const { rows } = await play(t);
      await t.dispose();
      return rows;
    };
    const a = await run();
    const b = await run();
    expect(b.map(metricLine)).toEqual(a.map(metricLine));
    const last = a[a.length - 1];
    expect(Number.isFinite(last.groups.red.loss)).toBe(true);
    expect(Number.isFinite(last.groups.green.loss)).toBe(true);
  });

  it('state(): k episodes, a JSON round trip, then N - k episodes play as N episodes, metric for metric', async () => {
    const N = 5;
    const k = 2;
    // Learners made here, so that the split run's two trainers share them: their networks and
    // memories are what a checkpoint keeps apart from state().
    const learners = () => {
      const rng = new Rng(4);
      const shape = groupShape(melee(), 0);
      return [
        createLearner('mfq', shape, SMALL.mfq, rng.fork()),
        createLearner('mfac', shape, SMALL.mfac, rng.fork()),
      ];
    };
    const build = (ls: ReturnType<typeof learners>, episodes: number) =>
      new PopulationTrainer(
        melee(),
        {
          groups: [
            { learn: ls[0] },
            { learn: ls[1] },
            // Draws from the trainer's stream: its state must carry the Rng.
            {
              play: (obs, actions, ctx) => {
                for (let i = 0; i < actions.length; i++)
                  if (obs.alive[i]) actions[i] = ctx.rng.int(4);
              },
            },
          ],
          episodes,
          winner: mostAlive,
        },
        13,
      );
    const whole = build(learners(), N);
    const all = await play(whole);
    await whole.dispose();

    const ls = learners();
    const first = build(ls, k);
    const before = await play(first);
    const saved = JSON.parse(JSON.stringify(first.state()));
    const second = build(ls, N);
    second.setState(saved);
    expect(second.metrics()).toEqual(first.metrics());
    const after = await play(second);
    await second.dispose();

    expect([...before.rows, ...after.rows].map(metricLine)).toEqual(all.rows.map(metricLine));
    expect([...before.episodes, ...after.episodes]).toEqual(all.episodes);
    expect(all.rows.length).toBeGreaterThan(N);
    const last = all.rows[all.rows.length - 1];
    expect(last.groups.red.updates).toBeGreaterThan(0);
    expect(last.groups.green.updates).toBeGreaterThan(0);
  });

  it('state() only between episodes; setState refuses the state of a trainer built otherwise', async () => {
    const f = { play: () => {} };
    const t = new PopulationTrainer(melee(), { groups: [f, f, f], episodes: 2 }, 1);
    await t.advance();
    expect(() => t.state()).toThrow(/only between episodes/);
    while (t.episode < 1) await t.advance();
    const s = t.state();
    const learning = new PopulationTrainer(
      melee(),
      { groups: [{ learn: 'mfq', config: SMALL.mfq }, f, f], episodes: 2 },
      1,
    );
    expect(() => learning.setState(s)).toThrow(/3 groups, 0 networks.*3 groups, 1 networks/);
    await learning.dispose();
  });

  it('says what is wrong: roles for every group, a known algorithm, a shape that fits, a winner that exists', async () => {
    const env = melee();
    expect(
      () => new PopulationTrainer(env, { groups: [{ learn: 'mfq' }], episodes: 1 }, 1),
    ).toThrow(/groups: got 1, expected one role per group of melee \(3: red, green, blue\)/);
    const f = { play: () => {} };
    expect(
      () =>
        new PopulationTrainer(env, { groups: [{ learn: 'dqn' as Algo }, f, f], episodes: 1 }, 1),
    ).toThrow(/groups\[0\]\.learn: got "dqn", expected one of mfq, mfac, il, ac/);
    const duelShaped = createPlayer(
      'mfq',
      groupShape(new DuelEnv({ agents: 6, cells: 7, maxSteps: 12, view: true }), 0),
      {},
      new Rng(1),
    );
    expect(
      () => new PopulationTrainer(env, { groups: [{ play: duelShaped }, f, f], episodes: 1 }, 1),
    ).toThrow(
      /the network of group "red" takes view 5x5x2, 3 features, 4 actions, the group observes no view, 3 features, 4 actions/,
    );
    duelShaped.dispose();
    const t = new PopulationTrainer(env, { groups: [f, f, f], episodes: 1, winner: () => 7 }, 1);
    await expect(play(t)).rejects.toThrow(
      /winner: got 7, expected a group index in \[0, 2\] or null/,
    );
  });
});
