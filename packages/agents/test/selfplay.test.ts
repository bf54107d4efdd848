/** Self-play, checkpoints and resume, bad input and tensor leaks, on the small Duel world. */
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MetricRecord, metricLine, Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNetwork, loadTraining, resolveCheckpoint, saveTraining } from '../src/checkpoint.ts';
import { MFQ } from '../src/mfq.ts';
import { ALGOS, type Algo, allocUpdate, LOCAL } from '../src/policy.ts';
import { splitRows, ThreadPool } from '../src/pool/index.ts';
import { createLearner, createPlayer, groupShape, SelfPlay } from '../src/selfplay.ts';
import { DuelEnv, type DuelOptions } from './duel-env.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'gibbs-sp-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  await initBackend();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SMALL = { batchSize: 16, learningStarts: 16, maxUpdatesPerRound: 4 };
const configOf = (algo: Algo): Record<string, unknown> =>
  algo === 'mfq' || algo === 'il'
    ? { ...SMALL, replayCapacity: 512, priorityAlpha: algo === 'mfq' ? 0.6 : 0 }
    : { batchSize: 16, maxUpdatesPerRound: 4, memoryCapacity: 512 };

function build(
  algo: Algo,
  rounds: number,
  seed: number,
  env: DuelEnv,
  runDir?: string,
  threads = 1,
) {
  const rng = new Rng(seed);
  const shape = groupShape(env, 0);
  const learner = createLearner(algo, shape, configOf(algo), rng.fork());
  const opponent = createPlayer(algo, shape, configOf(algo), rng.fork());
  return new SelfPlay(
    env,
    learner,
    opponent,
    { rounds, opponentTau: 0.5, learnerGroup: 0, train: true, evalTemperature: 0.1, threads },
    rng.u32(),
    {
      onRoundEnd: runDir ? async (s) => void (await saveTraining(runDir, s, {})) : undefined,
      // Split even the Duel's few rows and small batches, so that every path crosses threads.
      pool: { minActRows: 2, minGradRows: 4 },
    },
  );
}

async function play(sp: SelfPlay, out: MetricRecord[]): Promise<void> {
  while (!sp.finished) {
    await sp.advance();
    out.push(sp.metrics());
  }
}

const duel = (o: Partial<DuelOptions> = {}) =>
  new DuelEnv({ agents: 6, cells: 7, maxSteps: 12, ...o });

describe('self-play on Duel', () => {
  for (const algo of ALGOS) {
    it(`${algo}: 2 rounds + resume to 4 gives the metrics of 4 uninterrupted rounds`, async () => {
      const whole: MetricRecord[] = [];
      const a = build(algo, 4, 7, duel());
      await play(a, whole);
      a.dispose();

      const dir = tmp();
      const first: MetricRecord[] = [];
      const b = build(algo, 2, 7, duel(), dir);
      await play(b, first);
      b.dispose();
      const rest: MetricRecord[] = [];
      const c = build(algo, 4, 7, duel(), dir);
      await loadTraining(resolveCheckpoint(dir).round as string, c);
      expect(c.round).toBe(2);
      await play(c, rest);
      c.dispose();

      expect(whole.map(metricLine)).toEqual([...first, ...rest].map(metricLine));
      // Training happened and was logged.
      expect(whole[whole.length - 1].values.updates).toBeGreaterThan(0);
    });
  }

  it('a checkpoint state written before SelfPlay ran on PopulationTrainer reads back as it was', async () => {
    // The `selfplay` of a battle-train state.json written by the SelfPlay of b590fdb (round 3,
    // numbers shortened).
    const old = {
      round: 3,
      step: 150,
      rng: [4058732112, 2568645244, 241363839, 4039871805],
      lastTrain: { loss: 0.018329555809032172, meanQ: 0.1560536869801581, ess: 32, updates: 32 },
      lastWin: 1,
      recentWins: [0, 0, 1],
      stepStats: [
        { alive: 20, reward: -0.025, kills: 0, entropy: 3.04, meanPolicyEntropy: 3.042 },
        { alive: 19, reward: -0.0313, kills: 1, entropy: 3.038, meanPolicyEntropy: 3.041 },
      ],
      roundStats: [
        { kills: 1, rewardSum: -25.8, agentSteps: 1000, entropySum: 3039.49 },
        { kills: 0, rewardSum: -33.035, agentSteps: 988, entropySum: 3001.25 },
      ],
      temperature: 0.9409,
      learnerCounters: { lastWritten: 3021 },
    };
    const sp = build('mfq', 5, 7, duel());
    sp.setState(JSON.parse(JSON.stringify(old)));
    expect(JSON.stringify(sp.state())).toBe(JSON.stringify(old));
    const m = sp.metrics();
    expect(m.values).toMatchObject({ round: 3, learner_won: 1, temperature: 0.9409 });
    expect(m.values.loss).toBe(old.lastTrain.loss);
    expect(m.values.win_rate).toBeCloseTo(1 / 3, 12);
    expect(m.groups.red).toMatchObject({ alive: 20, kills: 0, kills_round: 1 });
    expect(m.groups.blue).toMatchObject({ alive: 19, kills: 1, kills_round: 0 });
    // Older still: no win rate saved; it starts again from that round.
    const { recentWins: _, ...older } = old;
    sp.setState(older);
    expect(sp.state().recentWins).toEqual([]);
    expect(sp.round).toBe(3);
    await sp.dispose();
  });

  it('NaN in a loss: a GibbsError naming the round, and the last good checkpoint stays', async () => {
    const dir = tmp();
    const sp = build('mfq', 5, 3, duel({ nanAtEpisode: 2 }), dir);
    let err: unknown = null;
    try {
      while (!sp.finished) await sp.advance();
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).toBe('GibbsError');
    expect((err as Error).message).toMatch(/loss is NaN at training round 2, update 1/);
    const latest = JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8'));
    expect(latest).toEqual({ round: 2, path: 'round-000002' });
    // The good checkpoint still loads into a fresh learner.
    const again = build('mfq', 5, 3, duel(), undefined);
    await loadTraining(join(dir, 'checkpoints', 'round-000002'), again);
    expect(again.round).toBe(2);
    await sp.dispose();
    again.dispose();
  });

  it('bad checkpoints: other algorithm, other observation shape, corrupt or half-written files', async () => {
    const dir = tmp();
    const sp = build('mfq', 1, 1, duel(), dir);
    while (!sp.finished) await sp.advance();
    await sp.dispose();
    const round = join(dir, 'checkpoints', 'round-000001');
    const net = join(round, 'learner');

    const il = build('il', 1, 1, duel());
    await expect(loadTraining(round, il)).rejects.toThrow(
      /learner\/model\.json: written by algorithm "mfq", expected "il"/,
    );
    il.dispose();

    const viewEnv = duel({ view: true });
    const other = createPlayer('mfq', groupShape(viewEnv, 0), {}, new Rng(1));
    await expect(
      loadNetwork(net, other.policyParams, { algo: 'mfq', shape: other.shape }),
    ).rejects.toThrow(
      /model\.json: its network takes no view, 3 features, 4 actions, this environment gives view 5x5x2/,
    );
    other.dispose();

    truncateSync(join(round, 'replay.bin'), 10);
    const q = build('mfq', 1, 1, duel());
    await expect(loadTraining(round, q)).rejects.toThrow(
      /replay\.bin: 10 bytes, .*\(corrupt or half-written\)/,
    );
    q.dispose();

    const fresh = () => createPlayer('mfq', groupShape(duel(), 0), {}, new Rng(2)) as MFQ;
    const weights = join(net, 'weights.bin');
    const bytes = readFileSync(weights);
    bytes[100] ^= 0xff;
    writeFileSync(weights, bytes);
    const p1 = fresh();
    await expect(loadNetwork(net, p1.policyParams, {})).rejects.toThrow(
      /weights\.bin: checksum .* \(corrupt\)/,
    );
    truncateSync(weights, 64);
    await expect(loadNetwork(net, p1.policyParams, {})).rejects.toThrow(
      /weights\.bin: 64 bytes, model\.json expects \d+ \(truncated or half-written\)/,
    );
    const model = join(net, 'model.json');
    writeFileSync(model, readFileSync(model, 'utf8').slice(0, 200));
    await expect(loadNetwork(net, p1.policyParams, {})).rejects.toThrow(
      /model\.json: not valid JSON \(corrupt or half-written\)/,
    );
    p1.dispose();
    expect(existsSync(join(dir, 'checkpoints', 'latest.json'))).toBe(true);
  });
});

describe('threads', () => {
  it('splits rows into near-equal slices of at least min rows', () => {
    expect(splitRows(10, 2, 2)).toEqual([0, 5, 10]);
    expect(splitRows(7, 3, 2)).toEqual([0, 2, 4, 7]);
    expect(splitRows(64, 2, 128)).toEqual([0, 64]);
    expect(splitRows(0, 4, 1)).toEqual([0, 0]);
  });

  it("a batch's gradient over 2 threads equals its one-thread gradient (float rounding)", async () => {
    // One pool for the four algorithms: a worker thread takes seconds to start on a busy machine.
    const pool = await ThreadPool.create(2, { minGradRows: 4 });
    for (const algo of ALGOS) {
      const env = duel({ view: true });
      const shape = groupShape(env, 0);
      const learner = createLearner(
        algo,
        shape,
        { ...configOf(algo), net: 'population' },
        new Rng(4),
      );
      const rng = new Rng(9);
      const u = allocUpdate(learner.memory, 16);
      for (const a of [u.batch.view, u.batch.features, u.next.view, u.next.features])
        for (let i = 0; i < a.length; i++) a[i] = rng.float();
      for (const m of [u.batch.mean, u.next.mean]) if (m) m.fill(1 / shape.actions);
      for (let k = 0; k < 16; k++) {
        u.action[k] = rng.int(shape.actions);
        u.reward[k] = rng.normal();
        u.done[k] = k % 5 === 0 ? 1 : 0;
      }
      const one = await LOCAL.gradient(learner, u, 0.7);
      await pool.register(learner);
      const two = await pool.gradient(learner, u, 0.7);
      expect(two.loss).toBeCloseTo(one.loss, 5);
      let scale = 0;
      for (const g of one.grad) scale = Math.max(scale, Math.abs(g));
      for (let i = 0; i < one.grad.length; i++)
        expect(Math.abs(two.grad[i] - one.grad[i])).toBeLessThan(1e-5 * (1 + scale));
      learner.dispose();
    }
    await pool.dispose();
  }, 180_000);

  it('one seed and 2 threads give byte-identical metrics and checkpoints', async () => {
    for (const algo of ['mfq', 'mfac'] as const) {
      const runs: { metrics: string[]; weights: Buffer; replay: Buffer }[] = [];
      for (let r = 0; r < 2; r++) {
        const dir = tmp();
        const sp = build(algo, 3, 11, duel({ view: true }), dir, 2);
        const out: MetricRecord[] = [];
        await play(sp, out);
        await sp.dispose();
        const round = join(dir, 'checkpoints', 'round-000003');
        runs.push({
          metrics: out.map(metricLine),
          weights: readFileSync(join(round, 'learner', 'weights.bin')),
          replay: readFileSync(join(round, 'learner-optimizer', 'weights.bin')),
        });
      }
      expect(runs[1].metrics).toEqual(runs[0].metrics);
      expect(runs[1].weights.equals(runs[0].weights)).toBe(true);
      expect(runs[1].replay.equals(runs[0].replay)).toBe(true);
      expect(runs[0].metrics[runs[0].metrics.length - 1]).toMatch(/"updates":[1-9]/);
    }
  }, 240_000);
});

describe('no tensor leaks', () => {
  it('tf.memory().numTensors stays flat over 1000 MF-Q training steps (and MF-AC, AC, IL rounds)', async () => {
    const env = duel({ agents: 8, maxSteps: 30 });
    const shape = groupShape(env, 0);
    const rng = new Rng(5);
    const mfq = new MFQ(
      shape,
      { batchSize: 8, learningStarts: 8, maxUpdatesPerRound: 1000, replayRatio: 1e6 },
      rng,
    );
    const sp = new SelfPlay(
      env,
      mfq,
      createPlayer('mfq', shape, {}, rng),
      { rounds: 1, opponentTau: 0.1, learnerGroup: 0, train: true, evalTemperature: 0.1 },
      1,
    );
    // Fill the memory with one round (no training yet: counted below).
    const before0 = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await sp.advance();
    expect(tf.memory().numTensors).toBe(before0);
    while (!sp.finished) await sp.advance();
    const before = tf.memory().numTensors;
    mfq.lastWritten = 0;
    const stats = await mfq.train(1, 0.5, new Rng(1));
    expect(stats.updates).toBe(1000);
    expect(Number.isFinite(stats.loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    await sp.dispose();
    for (const algo of ['mfac', 'ac', 'il'] as const) {
      const s = build(algo, 3, 2, duel());
      const t0 = tf.memory().numTensors;
      await s.advance();
      const t1 = tf.memory().numTensors;
      while (!s.finished) await s.advance();
      expect(tf.memory().numTensors).toBe(t1);
      s.dispose();
      expect(tf.memory().numTensors).toBeLessThanOrEqual(t0);
    }
  }, 240_000);
});
