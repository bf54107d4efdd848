/**
 * `pnpm gibbs run battle-eval --red runs/mfq --blue runs/il --rounds 50 --steps 20000 --out runs/mfq-vs-il`
 *
 * Cross-play of two trained checkpoints on Battle (mfrl's battle.py): red plays `--red`'s policy,
 * blue `--blue`'s, for `rounds` rounds without learning. The side with more kills wins a round
 * (equal kills: a draw). Q-learners act by their Boltzmann policy at `temperature`, actor-critics
 * sample their policy. A checkpoint is a run directory of battle-train, one of its
 * `checkpoints/round-NNNNNN` directories, or a network's model.json; `untrained` is a freshly
 * initialised actor-critic (a near-uniform random policy) as a reference opponent.
 *
 * Logged each step: win rates so far with 95% Wilson intervals (red_win_rate, red_win_lo,
 * red_win_hi, blue_..., draw_rate, draw_lo, draw_hi), and per group the mean reward per agent-step of finished
 * rounds with a 95% normal interval (reward_mean, reward_lo, reward_hi) and mean kills per round.
 * At the end `<out>/eval.json` holds the same summary and the per-round results.
 */
import { createPlayer, groupShape, SelfPlay } from '@gibbs/agents';
import { loadPlayer } from '@gibbs/agents/checkpoint';
import {
  defineExperiment,
  type Files,
  filesFromTar,
  joinPath as join,
  type MetricRecord,
  nodeFiles,
  Rng,
} from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { z } from 'zod';
import {
  battleMapParams,
  battleSimulation,
  createBattle,
  envThreadsParam,
  learnerThreadsParam,
} from './_battle.ts';

/** 95% Wilson score interval of k successes in n trials. */
export function wilson(k: number, n: number, z95 = 1.959964): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const d = 1 + (z95 * z95) / n;
  const c = (p + (z95 * z95) / (2 * n)) / d;
  const h = (z95 * Math.sqrt((p * (1 - p)) / n + (z95 * z95) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

/** Mean and 95% normal interval (mean +- 1.96 s / sqrt(n)). */
export function meanInterval(xs: readonly number[]): [number, number, number] {
  const n = xs.length;
  if (n === 0) return [0, 0, 0];
  const m = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return [m, m, m];
  const v = xs.reduce((a, b) => a + (b - m) * (b - m), 0) / (n - 1);
  const h = 1.959964 * Math.sqrt(v / n);
  return [m, m - h, m + h];
}

export default defineExperiment({
  name: 'battle-eval',
  description:
    'Cross-play of two battle-train checkpoints: win rates and rewards with 95% intervals',
  params: z.object({
    red: z
      .string()
      .min(1)
      .default('untrained')
      .describe('checkpoint playing red ("untrained"; in a page "upload": the checkpoint loaded)'),
    blue: z
      .string()
      .min(1)
      .default('untrained')
      .describe('checkpoint playing blue ("untrained"; in a page "upload": the checkpoint loaded)'),
    rounds: z.number().int().positive().default(50).describe('rounds to play'),
    ...battleMapParams,
    temperature: z.number().positive().default(0.1).describe('Boltzmann temperature of Q-learners'),
    threads: learnerThreadsParam,
    envThreads: envThreadsParam,
  }),
  defaultSteps: 50 * 400,
  async create({ params, seed, outDir, backend: forced, restore, log }) {
    // Checkpoints on disk (Node), or the one loaded into a page, at /upload in memory.
    let files: Files | null = restore ? filesFromTar(restore, '/upload') : null;
    const checkpoints = (): Files => {
      files ??= nodeFiles();
      return files;
    };
    const backend = await initBackend(forced);
    const env = createBattle(params);
    const rng = new Rng(seed);
    const players = [];
    const names: string[] = [];
    for (const side of ['red', 'blue'] as const) {
      const g = side === 'red' ? 0 : 1;
      const shape = groupShape(env, g);
      if (params[side] === 'untrained') {
        // Reference opponent: a freshly initialised actor-critic (a near-uniform random policy).
        players.push(createPlayer('ac', shape, {}, rng.fork()));
        names.push('untrained ac');
        continue;
      }
      const { player, algo, file } = await loadPlayer(
        params[side],
        shape,
        rng.fork(),
        checkpoints(),
      );
      players.push(player);
      names.push(`${algo}:${file}`);
    }
    log?.(`red ${names[0]} vs blue ${names[1]}`);
    const results: {
      red: Record<string, number>;
      blue: Record<string, number>;
      winner: string;
      length: number;
    }[] = [];
    const sp = new SelfPlay(
      env,
      players[0],
      players[1],
      {
        rounds: params.rounds,
        opponentTau: 0,
        learnerGroup: 0,
        train: false,
        evalTemperature: params.temperature,
        threads: params.threads,
      },
      rng.u32(),
      {
        onRoundEnd: (s) => {
          const e = s.lastSummary;
          if (!e) return;
          const red = e.groups.red;
          const blue = e.groups.blue;
          const winner = red.kills > blue.kills ? 'red' : blue.kills > red.kills ? 'blue' : 'draw';
          results.push({ red, blue, winner, length: e.length });
          log?.(
            `round ${results.length}/${params.rounds}: kills ${red.kills}-${blue.kills} (${winner})`,
          );
          if (s.finished && outDir) {
            const report = {
              red: names[0],
              blue: names[1],
              params,
              summary: summary(),
              rounds: results,
            };
            nodeFiles().write(join(outDir, 'eval.json'), `${JSON.stringify(report, null, 2)}\n`);
          }
        },
      },
    );
    const summary = () => {
      const n = results.length;
      const count = (w: string) => results.filter((r) => r.winner === w).length;
      const out: Record<string, number> = { rounds: n };
      for (const w of ['red', 'blue', 'draw']) {
        const [lo, hi] = wilson(count(w), n);
        const key = w === 'draw' ? 'draw' : `${w}_win`;
        out[`${key}_rate`] = n > 0 ? count(w) / n : 0;
        out[`${key}_lo`] = lo;
        out[`${key}_hi`] = hi;
      }
      for (const side of ['red', 'blue'] as const) {
        const [m, lo, hi] = meanInterval(results.map((r) => r[side].reward_mean));
        const [k, klo, khi] = meanInterval(results.map((r) => r[side].kills));
        Object.assign(out, {
          [`${side}_reward_mean`]: m,
          [`${side}_reward_lo`]: lo,
          [`${side}_reward_hi`]: hi,
          [`${side}_kills_mean`]: k,
          [`${side}_kills_lo`]: klo,
          [`${side}_kills_hi`]: khi,
        });
      }
      return out;
    };
    return battleSimulation(backend, env, sp, (): MetricRecord => {
      const m = sp.metrics();
      return { ...m, values: { ...m.values, ...summary() } };
    });
  },
});
