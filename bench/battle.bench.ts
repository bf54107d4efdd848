/**
 * Battle at population scale: agent-steps per second of the full step (attacks, moves, and the
 * 13x13x5 observations of every live agent) under uniform random actions, from 2x1k to 2x500k
 * agents, block and random placement, on 1 and 2 threads. Each configuration runs in its own
 * process (`pnpm gibbs bench battle ... --json`), so that one run's gigabytes of buffers and JIT
 * state do not colour the next.
 *
 * Reference: MAgent2's C++ engine on one thread, same config and observations, on a machine of
 * this kind: 2x10k on 500x500 at 0.2-0.47 M agent-steps/s random (0.5-0.6 M block), 2x500k on
 * 3200x3200 about 0.15 M. `cpu M/s` is agent-steps per CPU second of the whole process (every
 * thread): on a loaded, shared machine it is what an idle one would show on one thread, and with 2
 * threads it shows the parallel overhead (equal to 1 thread's: no work added).
 *
 *   pnpm bench battle            all sizes (a few minutes)
 *   tsx bench/battle.bench.ts --quick    without 2x500k
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, type Row, writeResult } from './lib.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');

/** Sizes: agents per side, map side, timed steps and warm-up steps (fewer at large sizes). */
const SIZES = [
  { agents: 1_000, map: 160, steps: 200, warmup: 20 },
  { agents: 10_000, map: 500, steps: 60, warmup: 10 },
  { agents: 100_000, map: 1600, steps: 10, warmup: 2 },
  { agents: 500_000, map: 3200, steps: 4, warmup: 1 },
].filter((s) => !quick || s.agents < 500_000);

/** MAgent2's single-thread C++ figures from the issue (M agent-steps/s), where known. */
const MAGENT: Record<string, string> = {
  '10000 block': '0.5-0.6',
  '10000 random': '0.2-0.47',
  '500000 block': '~0.15',
  '500000 random': '~0.15',
};

interface Result {
  agent_steps_per_s: number;
  agent_steps_per_cpu_s: number;
  ms_per_step: number;
  phases_ms: Record<string, number>;
  alive: Record<string, number>;
}

function bench(size: (typeof SIZES)[number], placement: string, threads: number): Result {
  const args = [
    '--import',
    'tsx',
    join(ROOT, 'packages/cli/src/main.ts'),
    'bench',
    'battle',
    '--agents',
    String(size.agents),
    '--map',
    String(size.map),
    '--placement',
    placement,
    '--threads',
    String(threads),
    '--steps',
    String(size.steps),
    '--warmup',
    String(size.warmup),
    '--json',
  ];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0)
    throw new Error(`gibbs bench ${args.slice(3).join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Result;
}

const rows: Row[] = [];
const results: unknown[] = [];
for (const size of SIZES) {
  for (const placement of ['block', 'random']) {
    const single = bench(size, placement, 1);
    const double = bench(size, placement, 2);
    for (const [threads, r] of [
      [1, single],
      [2, double],
    ] as const) {
      results.push({ ...size, placement, threads, ...r });
      rows.push({
        agents: `2x${size.agents >= 1000 ? `${size.agents / 1000}k` : size.agents}`,
        map: `${size.map}x${size.map}`,
        placement,
        threads,
        steps: size.steps,
        'M agent-steps/s': r.agent_steps_per_s / 1e6,
        'cpu M/s': r.agent_steps_per_cpu_s / 1e6,
        'ns/agent-step': 1e9 / r.agent_steps_per_s,
        'obs ms': r.phases_ms.observations,
        'step ms': r.phases_ms.step,
        'x 1 thread': threads === 1 ? 1 : r.agent_steps_per_s / single.agent_steps_per_s,
        MAgent2: threads === 1 ? (MAGENT[`${size.agents} ${placement}`] ?? '') : '',
      });
    }
  }
}
printTable('Battle, random actions, full step with observations (per step: obs ms, step ms)', rows);
console.log(`\nwrote ${writeResult('battle', { rows, results })}`);
