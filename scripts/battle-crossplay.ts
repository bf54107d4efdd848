/**
 * The cross-play table of docs/results/mean-field.md: every algorithm's trained Battle policies
 * against every other's, at mlii/mfrl's setting (64 vs 64 on 40x40, 400 steps).
 *
 *   pnpm tsx scripts/battle-crossplay.ts --root runs/study --round 120 [--battles 200]
 *       [--parallel 32] [--threads 2] [--seed 1] [--out docs/results/battle-crossplay.json]
 *       [--extra label=path[,label=path...]] [--untrained]
 *
 * `--root` holds battle-study.sh's runs (<algo>-s<seed>/r<NNNN>/, the checkpoint of round NNNN).
 * For each pair of algorithms A, B every seed of A meets every seed of B (the same seed excluded
 * when A = B) for at least `battles` battles in all, A playing red in half of each seed pair's
 * battles and blue in the other half. The side with more kills wins (equal kills: a draw).
 * Q-learners act at temperature 0.1, actor-critics sample their policy (as battle-eval does).
 * `--extra` adds single checkpoints as players of their own (a run, round or network directory),
 * `--untrained` a freshly initialised actor-critic (a near-uniform policy), as battle-eval's
 * reference. Writes the counts, win rates with 95% Wilson intervals and mean kills to `--out`,
 * and prints a Markdown table: the row player's win rate against the column's.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALGOS,
  type Algo,
  type CrossPlayEpisode,
  createPlayer,
  crossPlay,
  type GroupAgent,
  ThreadPool,
} from '@gibbs/agents';
import { loadPlayer } from '@gibbs/agents/checkpoint';
import { scriptArgs, takeFlag, takeInt, takeString } from '@gibbs/cli/args';
import { GibbsError, Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { writeJsonAtomic } from '@gibbs/core/node';
import { environments } from '@gibbs/env';
import { wilson } from '@gibbs/experiments/battle-eval';

const USAGE =
  'Usage: pnpm tsx scripts/battle-crossplay.ts [--root DIR --round N] [--battles 200] [--parallel 32]\n' +
  '                                            [--threads 2] [--seed 1] [--out FILE]\n' +
  '                                            [--extra label=path[,label=path]] [--untrained]';
const opts = scriptArgs(
  'battle-crossplay',
  USAGE,
  {
    options: {
      root: { type: 'string' },
      round: { type: 'string' },
      battles: { type: 'string' },
      parallel: { type: 'string' },
      threads: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      extra: { type: 'string' },
      untrained: { type: 'boolean' },
    },
  },
  (args) => {
    const root = takeString(args, 'root') ?? null;
    if (root && !args.options.has('round'))
      throw GibbsError.invalid('--round', 'nothing', 'the round of the checkpoints under --root');
    return {
      root,
      round: root ? takeInt(args, 'round', 0, 0) : 0,
      battles: takeInt(args, 'battles', 200, 0),
      parallel: takeInt(args, 'parallel', 32, 0),
      threads: takeInt(args, 'threads', 2, 0),
      seed: takeInt(args, 'seed', 1, 0),
      outFile: takeString(args, 'out') ?? 'docs/results/battle-crossplay.json',
      extra: takeString(args, 'extra'),
      untrained: takeFlag(args, 'untrained'),
    };
  },
);
const { root, round, battles, parallel, threads, seed, outFile } = opts;

await initBackend();
const entry = environments.battle;
const makeEnv = () =>
  entry.create(entry.config.parse({ map: 40, agents: 64, maxSteps: 400, placement: 'block' }));
const probe = makeEnv();
const shape = {
  view: probe.spec.groups[0].view,
  features: probe.spec.groups[0].features,
  actions: probe.spec.groups[0].actions,
} as const;
await probe.dispose?.();

// The players, by label: one per algorithm and training seed from the checkpoint of `round`
// under `root`, then the extras. Q-learners act at temperature 0.1, actor-critics at 1.
interface Player {
  seed: number;
  agent: GroupAgent;
  temperature: number;
}
const rdir = `r${String(round).padStart(4, '0')}`;
const players = new Map<string, Player[]>();
// Small slices pay here: the network is small, and the copies of the world make the batches.
const pool = await ThreadPool.create(threads, { minShardFlops: 10e6 });
const rng = new Rng(seed);
const temp = (a: Algo) => (a === 'mfq' || a === 'il' ? 0.1 : 1);
const add = (label: string, p: Player) => players.set(label, [...(players.get(label) ?? []), p]);
for (const name of root ? readdirSync(root).sort() : []) {
  const m = /^([a-z]+)-s(\d+)$/.exec(name);
  if (!root || !m || !(ALGOS as readonly string[]).includes(m[1])) continue;
  const dir = join(root, name, rdir);
  if (!existsSync(join(dir, 'checkpoints', 'latest.json'))) continue;
  const { player, algo } = await loadPlayer(dir, shape, rng.fork());
  await pool.register(player);
  add(algo, { seed: Number(m[2]), agent: player, temperature: temp(algo) });
}
for (const item of opts.extra ? opts.extra.split(',') : []) {
  const [label, path] = item.split('=');
  if (!label || !path) {
    console.error(`battle-crossplay: --extra: got "${item}", expected label=path\n${USAGE}`);
    process.exit(2);
  }
  const { player, algo } = await loadPlayer(path, shape, rng.fork());
  await pool.register(player);
  add(label, { seed: 0, agent: player, temperature: temp(algo) });
}
if (opts.untrained) {
  const agent = createPlayer('ac', shape, {}, rng.fork());
  await pool.register(agent);
  add('untrained', { seed: 0, agent, temperature: 1 });
}
const algos = [...players.keys()];
if (algos.length === 0) {
  console.error(
    `battle-crossplay: no players (checkpoints of round ${round} under ${root}/<algo>-s<seed>/${rdir}, or --extra)`,
  );
  process.exit(1);
}

interface Tally {
  a: string;
  b: string;
  battles: number;
  winsA: number;
  winsB: number;
  draws: number;
  killsA: number;
  killsB: number;
}
const tallies: Tally[] = [];
const t0 = performance.now();
for (let i = 0; i < algos.length; i++) {
  for (let j = i; j < algos.length; j++) {
    const A = algos[i];
    const B = algos[j];
    const pairs: [Player, Player][] = [];
    for (const pa of players.get(A) ?? [])
      for (const pb of players.get(B) ?? []) if (A !== B || pa.seed < pb.seed) pairs.push([pa, pb]);
    if (pairs.length === 0) continue;
    // At least `battles` in all, an even number per seed pair (half with A on red).
    const per = 2 * Math.ceil(battles / pairs.length / 2);
    const t: Tally = { a: A, b: B, battles: 0, winsA: 0, winsB: 0, draws: 0, killsA: 0, killsB: 0 };
    for (const [pa, pb] of pairs) {
      for (const aRed of [true, false]) {
        const sides: [GroupAgent, GroupAgent] = aRed ? [pa.agent, pb.agent] : [pb.agent, pa.agent];
        const eps: CrossPlayEpisode[] = await crossPlay(makeEnv, sides, {
          episodes: per / 2,
          parallel,
          seed: rng.u32(),
          temperatures: aRed ? [pa.temperature, pb.temperature] : [pb.temperature, pa.temperature],
        });
        for (const e of eps) {
          const [ea, eb] = aRed ? [e.red, e.blue] : [e.blue, e.red];
          t.battles++;
          t.killsA += ea.kills;
          t.killsB += eb.kills;
          if (e.winner === 'draw') t.draws++;
          else if ((e.winner === 'red') === aRed) t.winsA++;
          else t.winsB++;
        }
      }
    }
    tallies.push(t);
    console.error(
      `${A} vs ${B}: ${t.battles} battles, ${t.winsA}-${t.winsB} (${t.draws} draws), ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
}
await pool.dispose();

/** Row algorithm's record against the column's (a tally read from either side). */
function record(r: string, c: string) {
  const t = tallies.find((x) => (x.a === r && x.b === c) || (x.a === c && x.b === r));
  if (!t) return null;
  const flip = t.a !== r;
  const wins = flip ? t.winsB : t.winsA;
  const losses = flip ? t.winsA : t.winsB;
  const [lo, hi] = wilson(wins, t.battles);
  return {
    battles: t.battles,
    wins,
    losses,
    draws: t.draws,
    win_rate: wins / t.battles,
    win_lo: lo,
    win_hi: hi,
    kills_mean: (flip ? t.killsB : t.killsA) / t.battles,
    kills_against_mean: (flip ? t.killsA : t.killsB) / t.battles,
  };
}
const table: Record<string, Record<string, ReturnType<typeof record>>> = {};
for (const r of algos) {
  table[r] = {};
  for (const c of algos) table[r][c] = record(r, c);
}
const pct = (x: number) => `${(100 * x).toFixed(0)}`;
const lines = [
  `| row vs column (win % [95% CI], draws %) | ${algos.join(' | ')} |`,
  `|---|${algos.map(() => '---').join('|')}|`,
  ...algos.map(
    (r) =>
      `| **${r}** | ${algos
        .map((c) => {
          const x = table[r][c];
          if (!x) return '–';
          return `${pct(x.win_rate)} [${pct(x.win_lo)}, ${pct(x.win_hi)}], ${pct(x.draws / x.battles)}`;
        })
        .join(' | ')} |`,
  ),
];
console.log(lines.join('\n'));
writeJsonAtomic(outFile, {
  root,
  round,
  battles,
  parallel,
  threads,
  seed,
  seeds: Object.fromEntries(algos.map((a) => [a, (players.get(a) ?? []).map((p) => p.seed)])),
  seconds: (performance.now() - t0) / 1000,
  tallies,
  table,
  markdown: lines.join('\n'),
});
console.error(`wrote ${outFile}`);
