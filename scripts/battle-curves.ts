/**
 * Learning curves of battle-study.sh's runs for docs/results/mean-field.md: per algorithm, the
 * mean over training seeds of a per-round quantity of the learner (red), smoothed over a window
 * of rounds, with a 95% t-interval across seeds.
 *
 *   pnpm tsx scripts/battle-curves.ts [--root runs/study] [--window 10] [--every 5]
 *       [--rounds N] [--out docs/results/battle]
 *
 * `--rounds N` plots the first N rounds only (runs that went further are cut there).
 *
 * Reads <root>/<algo>-s<seed>/r<NNNN>/rounds.jsonl (one line per finished round) in chunk order
 * and writes <out>-kills.svg (the learner's kills per round), <out>-reward.svg (its mean reward
 * per agent-step), <out>-length.svg (steps per round: a round ends early when a side is wiped
 * out) and <out>-curves.json (the plotted points).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scriptArgs, takeInt, takeString } from '@gibbs/cli/args';
import { writeJsonAtomic } from '@gibbs/core/node';
import { plotSvg, type Series } from '@gibbs/sweep';

const USAGE =
  'Usage: pnpm tsx scripts/battle-curves.ts [--root runs/study] [--window 10] [--every 5] [--rounds N] [--out docs/results/battle]';
const { root, window, every, out, maxRounds } = scriptArgs(
  'battle-curves',
  USAGE,
  {
    options: {
      root: { type: 'string' },
      window: { type: 'string' },
      every: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
    },
  },
  (args) => ({
    root: takeString(args, 'root') ?? 'runs/study',
    window: takeInt(args, 'window', 10, 1),
    every: takeInt(args, 'every', 5, 1),
    out: takeString(args, 'out') ?? 'docs/results/battle',
    maxRounds: takeInt(args, 'rounds', Number.MAX_SAFE_INTEGER, 1),
  }),
);

interface Round {
  episode: number;
  length: number;
  values: Record<string, number>;
  groups: Record<string, Record<string, number>>;
}

/** Per algorithm, per seed: the rounds in order (chunks concatenated). */
const runs = new Map<string, Round[][]>();
for (const name of readdirSync(root).sort()) {
  const m = /^([a-z]+)-s(\d+)$/.exec(name);
  if (!m) continue;
  const rounds: Round[] = [];
  for (const chunk of readdirSync(join(root, name))
    .filter((c) => /^r\d{4}$/.test(c))
    .sort()) {
    const f = join(root, name, chunk, 'rounds.jsonl');
    if (!existsSync(join(root, name, chunk, 'checkpoints', 'latest.json')) || !existsSync(f)) break;
    for (const line of readFileSync(f, 'utf8').split('\n')) if (line) rounds.push(JSON.parse(line));
  }
  rounds.splice(maxRounds);
  if (rounds.length > 0) runs.set(m[1], [...(runs.get(m[1]) ?? []), rounds]);
}

/** t quantiles (0.975) for 1..10 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

function curve(pick: (r: Round) => number): Series[] {
  const series: Series[] = [];
  for (const [algo, seeds] of runs) {
    const len = Math.min(...seeds.map((s) => s.length));
    const points: Series['points'] = [];
    for (let k = window - 1; k < len; k += every) {
      const vals = seeds.map((s) => {
        let sum = 0;
        for (let j = k - window + 1; j <= k; j++) sum += pick(s[j]);
        return sum / window;
      });
      const n = vals.length;
      const mean = vals.reduce((a, b) => a + b, 0) / n;
      const sd = n > 1 ? Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
      const h = n > 1 ? T975[Math.min(n - 2, T975.length - 1)] * (sd / Math.sqrt(n)) : Number.NaN;
      points.push({ x: k + 1, mean, lo: mean - h, hi: mean + h });
    }
    series.push({ label: `${algo} (${seeds.length} seeds)`, points });
  }
  return series;
}

const kills = curve((r) => r.groups.red?.kills ?? 0);
const reward = curve((r) => r.groups.red?.reward_mean ?? 0);
const length = curve((r) => r.length);
const what = `${window}-round moving average`;
writeFileSync(
  `${out}-kills.svg`,
  plotSvg(kills, {
    x: 'training round',
    y: 'learner kills per round',
    title: `Battle 64 vs 64, self-play: the learner's kills per round (${what})`,
    confidence: 0.95,
  }),
);
writeFileSync(
  `${out}-reward.svg`,
  plotSvg(reward, {
    x: 'training round',
    y: 'learner reward per agent-step',
    title: `Battle 64 vs 64, self-play: the learner's mean reward (${what})`,
    confidence: 0.95,
  }),
);
writeFileSync(
  `${out}-length.svg`,
  plotSvg(length, {
    x: 'training round',
    y: 'steps per round (400 = no side wiped out)',
    title: `Battle 64 vs 64, self-play: how long a round lasts (${what})`,
    confidence: 0.95,
  }),
);
writeJsonAtomic(`${out}-curves.json`, { root, window, every, kills, reward, length });
for (const s of kills) {
  const last = s.points[s.points.length - 1];
  console.log(`${s.label}: ${last?.x ?? 0} rounds, kills per round ${last?.mean.toFixed(2)}`);
}
