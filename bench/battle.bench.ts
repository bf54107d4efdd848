/**
 * Battle at population scale: agent-steps per second of the full step (attacks, moves, and the
 * 13x13x5 observations of every live agent) under uniform random actions, from 2x64 (mfrl's
 * setting: 40x40) and 2x1k to 2x500k agents, block and random placement, on 1 and 2 threads. Each
 * configuration runs in its own process (`pnpm gibbs bench battle ... --json`), so that one run's
 * gigabytes of buffers and JIT state do not colour the next. Warm-up steps (untimed) cover V8's
 * optimizing compile of the step, which on a busy 2-core machine takes a few hundred steps at
 * the small sizes.
 *
 * MAgent2 column: its C++ engine on one thread (built without OpenMP), same config, random
 * actions, observations included, driven by bench/magent2-battle.py (ctypes, no MAgent2 code
 * here). With MAGENT2_DIR set to a MAgent2 checkout whose magent2/ holds a built libmagent.so,
 * it is measured live in this run, up to 2x10k (larger MAgent2 runs take minutes), with the
 * Gibbs / MAgent2 ratio; else the figures below are shown, measured side by side with Gibbs
 * (commit faa959e) on 2026-12-03 on this kind of machine (2 cores, shared and loaded: compare
 * ratios, not absolute rates). `cpu M/s` is agent-steps per CPU second of the whole process
 * (every thread): on a loaded, shared machine it is what an idle one would show on one thread,
 * and with 2 threads it shows the parallel overhead (equal to 1 thread's: no work added).
 *
 *   pnpm bench battle            all sizes (a few minutes)
 *   tsx bench/battle.bench.ts --quick    without 2x500k
 *   MAGENT2_DIR=/path/to/MAgent2 tsx bench/battle.bench.ts --quick    with MAgent2 measured live
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, type Row, writeResult } from './lib.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');

/** Sizes: agents per side, map side, timed steps and warm-up steps (fewer at large sizes). */
const SIZES = [
  { agents: 64, map: 40, steps: 2000, warmup: 300 },
  { agents: 1_000, map: 160, steps: 300, warmup: 100 },
  { agents: 10_000, map: 500, steps: 60, warmup: 10 },
  { agents: 100_000, map: 1600, steps: 10, warmup: 2 },
  { agents: 500_000, map: 3200, steps: 4, warmup: 1 },
].filter((s) => !quick || s.agents < 500_000);

/**
 * MAgent2's single-thread figures (M agent-steps/s) where no live run: bench/magent2-battle.py,
 * same steps and warm-up, measured 2026-12-03 on a loaded 2-core machine;
 * 2x100k and 2x500k from the issue.
 */
const MAGENT: Record<string, string> = {
  '64 block': '1.05-1.13',
  '1000 block': '0.51-0.58',
  '1000 random': '~0.60',
  '10000 block': '0.45-0.48',
  '10000 random': '0.31-0.36',
  '500000 block': '~0.15',
  '500000 random': '~0.15',
};

/** MAgent2 measured live (bench/magent2-battle.py) when MAGENT2_DIR is set; null if skipped. */
function magent(size: (typeof SIZES)[number], placement: string): number | null {
  if (!process.env.MAGENT2_DIR || size.agents > 10_000) return null;
  const args = [
    join(ROOT, 'bench/magent2-battle.py'),
    ...['--agents', String(size.agents), '--map', String(size.map), '--placement', placement],
    ...['--steps', String(size.steps), '--warmup', String(size.warmup)],
  ];
  const r = spawnSync('python3', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
  const line = r.stdout?.trim().split('\n').at(-1);
  if (r.status !== 0 || !line) {
    console.error(`magent2-battle.py: ${r.stderr?.trim() || `exit ${r.status}`}`);
    return null;
  }
  return (JSON.parse(line) as { agent_steps_per_s: number }).agent_steps_per_s;
}

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
    const live = magent(size, placement);
    for (const [threads, r] of [
      [1, single],
      [2, double],
    ] as const) {
      results.push({
        ...size,
        placement,
        threads,
        ...r,
        ...(threads === 1 && live !== null ? { magent2_agent_steps_per_s: live } : {}),
      });
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
        MAgent2:
          threads !== 1
            ? ''
            : live !== null
              ? live / 1e6
              : (MAGENT[`${size.agents} ${placement}`] ?? ''),
        'x MAgent2': threads === 1 && live !== null ? r.agent_steps_per_s / live : '',
      });
    }
  }
}
printTable('Battle, random actions, full step with observations (per step: obs ms, step ms)', rows);
console.log(`\nwrote ${writeResult('battle', { rows, results })}`);
