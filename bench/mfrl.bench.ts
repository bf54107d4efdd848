/**
 * `pnpm bench mfrl`: the mean-field learners' speed on Battle (MF-Q self-play), beside what the
 * same arithmetic costs on this CPU outside Gibbs. Issue 11, items 1, 4 and 5.
 *
 * 1. Gibbs: `gibbs bench learn --algo mfq --json` in its own process per row (one row's JIT state
 *    and buffers do not colour the next), at 2x64 (map 40), 2x1k (map 160) and 2x10k (map 500),
 *    for both networks (`--net mfrl`, `--net population`), on 1 and 2 threads. Every field of its
 *    JSON is kept in the result file.
 * 2. References, measured in the same run:
 *    a. NumPy/OpenBLAS float32 1024x1024 matmul (bench/numpy/matmul.py) on both cores, the
 *       practical FLOP rate of this CPU (~68 GFLOP/s on a quiet machine), and on one core.
 *    b. The same networks' MF-Q update in NumPy (bench/numpy/mfq_update.py): forward on s' through
 *       online and target nets, double-Q target, forward on s, hand-written backward, clipped Adam,
 *       soft target update; batch 128; on 1 and 2 BLAS threads. Its gradient is checked against
 *       finite differences (--check) and its forward pass against Gibbs's on Gibbs's weights
 *       (--parity: weights, a batch and Q-values written here), every run.
 *    c. tfjs-wasm matMul 512 and 1024 in this process, timed as matMul; dataSync; dispose.
 *    Python runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment.
 * 3. Ratios: Gibbs update GFLOP/s / OpenBLAS matmul GFLOP/s; Gibbs / NumPy update samples/s per
 *    net; Gibbs acting agent-steps/s / NumPy forward rows/s (64 rows for 2x64, 1024 beyond: Gibbs
 *    acts in chunks of at most 1024 rows).
 * 4. The issue's targets, printed as met or missed (never asserted): (i) mfrl update FLOP rate
 *    >= 50% of the OpenBLAS matmul; (ii) mfrl training at 2x64 >= 5,700 agent-steps/s; (iii)
 *    population training at 2x10k >= 50,000 agent-steps/s; each at its best thread count.
 *
 * On a shared machine every figure moves with the load: the load average at start and end is in
 * the result. OpenBLAS on 2 threads collapses when another process holds a core (its threads wait
 * on each other), so the NumPy update is measured on 1 and 2 threads and both are kept.
 *
 *   pnpm bench mfrl                     all rows (~5-10 minutes on a loaded 2-core machine)
 *   tsx bench/mfrl.bench.ts --quick     2x64 only, fewer reps (smoke run)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forwardFlops, groupShape, type NetKind, QNetwork, viewEncoding } from '@gibbs/agents';
import { tf } from '@gibbs/agents/tf';
import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { environments } from '@gibbs/env';
import { printTable, type Row, timeMedian, writeResult } from './lib.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);
const loadStart = load();
const started = new Date().toISOString();
console.log(`load average at start: ${loadStart.join(', ')}`);

const NET_KINDS: NetKind[] = ['mfrl', 'population'];
const THREADS = [1, 2];
const BATCH = 128;
/** Sizes (agents per side, map side) and steps per net: a row stays well under a minute. */
const SIZES = [
  { agents: 64, map: 40, steps: { mfrl: quick ? 10 : 40, population: quick ? 10 : 40 } },
  { agents: 1_000, map: 160, steps: { mfrl: 10, population: 10 } },
  { agents: 10_000, map: 500, steps: { mfrl: 2, population: 3 } },
].filter((s) => !quick || s.agents === 64);

// ---- Battle's group shape and the networks' FLOPs --------------------------------------------
const entry = environments.battle;
const env = entry.create(entry.config.parse({ map: 40, agents: 64, maxSteps: 4 }));
const base = groupShape(env, 0);
void env.dispose?.();
const shape = { ...base, meanAction: true };
const view = shape.view;
if (!view) throw new Error('mfrl bench: Battle has no view');

// ---- 1. Gibbs, one process per row --------------------------------------------------------------
interface Learn {
  algo: string;
  agents: number;
  map: number;
  net: NetKind;
  threads: number;
  batch: number;
  steps: number;
  backend: string;
  flops_per_agent_forward: number;
  acting_agent_steps_per_s: number;
  acting_ms_per_step: number;
  updates: number;
  updates_cap: number;
  update_samples_per_s: number;
  update_gflops: number;
  train_ms: number;
  train_agent_steps_per_s: number;
}

function learn(agents: number, map: number, net: NetKind, threads: number, steps: number): Learn {
  const args = [
    '--import',
    'tsx',
    join(ROOT, 'packages/cli/src/main.ts'),
    ...['bench', 'learn', '--algo', 'mfq', '--agents', String(agents), '--map', String(map)],
    ...['--net', net, '--threads', String(threads), '--batch', String(BATCH)],
    ...['--steps', String(steps), '--json'],
  ];
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    timeout: 300_000,
  });
  if (r.status !== 0)
    throw new Error(`gibbs ${args.slice(3).join(' ')} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Learn;
}

const gibbs: Learn[] = [];
for (const size of SIZES) {
  for (const net of NET_KINDS) {
    for (const threads of THREADS) {
      const t0 = performance.now();
      const r = learn(size.agents, size.map, net, threads, size.steps[net]);
      gibbs.push(r);
      console.log(
        `  2x${size.agents} ${net} ${threads}T: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
  }
}

// ---- 2. References -------------------------------------------------------------------------
const pyEnv = (threads: number | null): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e.OPENBLAS_CORETYPE;
  delete e.OPENBLAS_L2_SIZE;
  if (threads === null) delete e.OPENBLAS_NUM_THREADS;
  else e.OPENBLAS_NUM_THREADS = String(threads);
  return e;
};

function python<T>(script: string, args: string[], threads: number | null): T {
  const r = spawnSync('python3', [join(ROOT, 'bench/numpy', script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: pyEnv(threads),
    maxBuffer: 1 << 20,
    timeout: 300_000,
  });
  const line = r.stdout?.trim().split('\n').at(-1);
  if (!line) throw new Error(`${script} ${args.join(' ')}: ${r.stderr || `exit ${r.status}`}`);
  const out = JSON.parse(line) as T;
  if (r.status !== 0) console.error(`${script} ${args.join(' ')} exited ${r.status}: ${line}`);
  return out;
}

// 2a. OpenBLAS matmul: both cores (the issue's reference) and one core.
interface MatmulRef {
  n: number;
  blas_threads: string;
  ms: number;
  gflops: number;
  best_gflops: number;
}
const matmulReps = quick ? 10 : 30;
const blas2 = python<MatmulRef>('matmul.py', ['--n', '1024', '--reps', String(matmulReps)], null);
const blas1 = python<MatmulRef>('matmul.py', ['--n', '1024', '--reps', String(matmulReps)], 1);

// 2b. NumPy MF-Q update. Gibbs's weights, a batch and its Q-values for the parity check first.
interface NumpyRef {
  net: NetKind;
  blas_threads: string;
  flops_per_agent_forward: number;
  encoded_inputs: number | null;
  params: number;
  ms_per_update: number;
  best_ms_per_update: number;
  samples_per_s: number;
  update_gflops: number;
  forward_rows_per_s: Record<string, number>;
  forward_gflops_1024: number;
  grad_check?: { weights_checked: number; max_rel_error: number; ok: boolean };
  parity?: { rows: number; max_abs_diff: number; max_abs_q: number; ok: boolean };
}
const backend = await initBackend(process.env.GIBBS_BACKEND);
const parityDir = mkdtempSync(join(tmpdir(), 'gibbs-mfrl-parity-'));
mkdirSync(parityDir, { recursive: true });
{
  const n = 8;
  const rng = new Rng(11);
  const vs = view.height * view.width * view.channels;
  const batch = {
    n,
    view: Float32Array.from({ length: n * vs }, () => (rng.float() < 0.15 ? 1 : 0)),
    features: Float32Array.from({ length: n * shape.features }, () => rng.float()),
    mean: new Float32Array(n * shape.actions),
  };
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let a = 0; a < shape.actions; a++) s += batch.mean[i * shape.actions + a] = rng.float();
    for (let a = 0; a < shape.actions; a++) batch.mean[i * shape.actions + a] /= s;
  }
  for (const net of NET_KINDS) {
    const q = new QNetwork(shape, new Rng(7), net);
    // Non-zero biases, so that the parity covers them too.
    const flat = q.params.flat();
    for (let i = 0; i < flat.length; i++) flat[i] += 0.01 * (rng.float() - 0.5);
    q.params.setFlat(flat);
    const out = tf.tidy(() => q.apply(q.inputs(batch)));
    const qv = out.dataSync() as Float32Array;
    out.dispose();
    const put = (name: string, a: Float32Array) =>
      writeFileSync(
        join(parityDir, `${net}.${name}.f32`),
        Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      );
    put('params', flat);
    put('view', batch.view);
    put('features', batch.features);
    put('mean', batch.mean);
    put('q', qv);
    writeFileSync(join(parityDir, `${net}.json`), JSON.stringify({ n, names: q.params.names }));
    q.dispose();
  }
}
const shapeArgs = [
  ...['--view', String(view.height), String(view.width), String(view.channels)],
  ...['--features', String(shape.features), '--actions', String(shape.actions)],
  ...['--batch', String(BATCH)],
];
const numpy: NumpyRef[] = [];
for (const net of NET_KINDS) {
  for (const threads of THREADS) {
    const checks = threads === 1 ? ['--check', '--parity', parityDir] : [];
    const reps = String(quick ? 5 : net === 'mfrl' ? 15 : 40);
    numpy.push(
      python<NumpyRef>(
        'mfq_update.py',
        ['--net', net, '--reps', reps, ...shapeArgs, ...checks],
        threads,
      ),
    );
  }
}
rmSync(parityDir, { recursive: true, force: true });

// 2c. tfjs-wasm matMul (one thread), read outside tf.tidy.
const tfjsMatmul: Row[] = [];
for (const n of [512, 1024]) {
  const a = tf.randomNormal([n, n]) as tf.Tensor2D;
  const b = tf.randomNormal([n, n]) as tf.Tensor2D;
  const ms = await timeMedian(
    () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    },
    quick ? 5 : n === 512 ? 20 : 8,
    2,
  );
  tfjsMatmul.push({ n, ms, 'GFLOP/s': (2 * n ** 3) / ms / 1e6 });
  tf.dispose([a, b]);
}

// ---- 3. Tables and ratios ----------------------------------------------------------------------
const npOf = (net: NetKind, threads: number) =>
  numpy.find((r) => r.net === net && r.blas_threads === String(threads)) as NumpyRef;
const npBest = (net: NetKind) =>
  numpy.filter((r) => r.net === net).reduce((a, b) => (b.samples_per_s > a.samples_per_s ? b : a));
const fwdRows = (agents: number) => (agents <= 64 ? '64' : '1024');
const npFwdBest = (net: NetKind, agents: number) =>
  Math.max(...numpy.filter((r) => r.net === net).map((r) => r.forward_rows_per_s[fwdRows(agents)]));
const k = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

/**
 * bench learn derives the training round's time as (last step) - (mean acting step): where the
 * round is shorter than half an acting step (2x10k: 1-2 updates against seconds of acting), that
 * difference is noise (it can be negative). Those rows' update figures are left blank here and
 * out of the targets; the raw JSON keeps them.
 */
const updateMeasured = (r: Learn) => r.train_ms > 0.5 * r.acting_ms_per_step;
const rows: Row[] = gibbs.map((r) => {
  const same = npOf(r.net, r.threads);
  if (!updateMeasured(r)) {
    return {
      agents: `2x${k(r.agents)}`,
      net: r.net,
      threads: r.threads,
      steps: r.steps,
      updates: r.updates,
      'acting a-s/s': r.acting_agent_steps_per_s,
      'update samples/s': 'noise',
      'update GFLOP/s': 'noise',
      'train a-s/s': r.train_agent_steps_per_s,
      'upd / BLAS mm': '',
      'upd / numpy': '',
      'upd / numpy best': '',
      'act / numpy fwd': r.acting_agent_steps_per_s / npFwdBest(r.net, r.agents),
    };
  }
  return {
    agents: `2x${k(r.agents)}`,
    net: r.net,
    threads: r.threads,
    steps: r.steps,
    updates: r.updates,
    'acting a-s/s': r.acting_agent_steps_per_s,
    'update samples/s': r.update_samples_per_s,
    'update GFLOP/s': r.update_gflops,
    'train a-s/s': r.train_agent_steps_per_s,
    'upd / BLAS mm': r.update_gflops / blas2.gflops,
    'upd / numpy': r.update_samples_per_s / same.samples_per_s,
    'upd / numpy best': r.update_samples_per_s / npBest(r.net).samples_per_s,
    'act / numpy fwd': r.acting_agent_steps_per_s / npFwdBest(r.net, r.agents),
  };
});
printTable(
  `Gibbs MF-Q on Battle (${gibbs[0]?.backend}; batch ${BATCH}; a-s/s = agent-steps/s; ratios: update GFLOP/s / OpenBLAS 2-thread matmul, update samples/s / NumPy's on the same threads and on its best, acting / NumPy forward rows/s at ${'64 | 1024'} rows)`,
  rows,
);

const refRows: Row[] = [
  {
    what: 'OpenBLAS matmul 1024 (2 threads)',
    'GFLOP/s': blas2.gflops,
    'best GFLOP/s': blas2.best_gflops,
    ms: blas2.ms,
  },
  {
    what: 'OpenBLAS matmul 1024 (1 thread)',
    'GFLOP/s': blas1.gflops,
    'best GFLOP/s': blas1.best_gflops,
    ms: blas1.ms,
  },
  ...tfjsMatmul.map((t) => ({
    what: `tfjs-${backend} matMul ${t.n} (1 thread)`,
    'GFLOP/s': t['GFLOP/s'],
    'best GFLOP/s': '',
    ms: t.ms,
  })),
  ...numpy.map((r) => ({
    what: `NumPy MF-Q update, ${r.net} (${r.blas_threads} BLAS thread${r.blas_threads === '1' ? '' : 's'})`,
    'GFLOP/s': r.update_gflops,
    'best GFLOP/s': (3 * r.flops_per_agent_forward * BATCH) / r.best_ms_per_update / 1e6,
    ms: r.ms_per_update,
    'samples/s': r.samples_per_s,
    'fwd rows/s @64': r.forward_rows_per_s['64'],
    'fwd rows/s @1024': r.forward_rows_per_s['1024'],
  })),
];
printTable('References on this CPU (same run)', refRows);

const checks: Row[] = numpy
  .filter((r) => r.grad_check || r.parity)
  .map((r) => ({
    net: r.net,
    'grad check (finite differences)': r.grad_check
      ? `${r.grad_check.ok ? 'ok' : 'FAILED'}: ${r.grad_check.weights_checked} weights, max rel err ${r.grad_check.max_rel_error.toExponential(1)}`
      : '',
    'forward vs Gibbs (same weights)': r.parity
      ? `${r.parity.ok ? 'ok' : 'DIFFERS'}: max |dQ| ${r.parity.max_abs_diff.toExponential(1)} (|Q| up to ${r.parity.max_abs_q.toFixed(3)})`
      : '',
    'FLOP/agent numpy = Gibbs': r.flops_per_agent_forward === forwardFlops(shape, false, r.net),
  }));
printTable('NumPy reference checks', checks);

// ---- 4. The issue's targets ------------------------------------------------------------------
const best = (xs: Learn[], f: (r: Learn) => number) => xs.reduce((a, b) => (f(b) > f(a) ? b : a));
interface Target {
  target: string;
  need: number;
  got: number;
  threads: number;
  row: string;
  met: boolean;
  note: string;
  verdict: string;
}
/** OpenBLAS 1024 matmul on both cores of this machine when quiet (issue 11), for scale only. */
const QUIET_BLAS = 68;
const targets: Target[] = [];
function target(name: string, need: number, xs: Learn[], f: (r: Learn) => number, unit: string) {
  if (xs.length === 0) return;
  const b = best(xs, f);
  const got = f(b);
  const met = got >= need;
  targets.push({
    target: name,
    need,
    got,
    threads: b.threads,
    row: `2x${k(b.agents)} ${b.net}`,
    met,
    ...(name.startsWith('(i)')
      ? {
          note: `${((100 * got) / QUIET_BLAS).toFixed(1)}% of a quiet machine's ~${QUIET_BLAS} GFLOP/s`,
        }
      : { note: '' }),
    verdict: met
      ? `met (${(got / need).toFixed(2)}x the target)`
      : `missed by ${(need - got).toPrecision(3)} ${unit} (${((100 * got) / need).toFixed(1)}% of it; ${(need / got).toFixed(1)}x to go)`,
  });
}
const mfrlRows = gibbs.filter((r) => r.net === 'mfrl');
target(
  '(i) mfrl update FLOP rate >= 50% of OpenBLAS matmul',
  0.5 * blas2.gflops,
  mfrlRows.filter(updateMeasured),
  (r) => r.update_gflops,
  'GFLOP/s',
);
target(
  '(ii) mfrl train agent-steps/s at 2x64 >= 5,700',
  5700,
  mfrlRows.filter((r) => r.agents === 64),
  (r) => r.train_agent_steps_per_s,
  'agent-steps/s',
);
target(
  '(iii) population train agent-steps/s at 2x10k >= 50,000',
  50_000,
  gibbs.filter((r) => r.net === 'population' && r.agents === 10_000),
  (r) => r.train_agent_steps_per_s,
  'agent-steps/s',
);
printTable(
  'Issue 11 targets (best thread count; measured on a loaded machine, see load average)',
  targets.map((t) => ({ ...t })),
);

const loadEnd = load();
console.log(`load average at start: ${loadStart.join(', ')}; at end: ${loadEnd.join(', ')}`);
const path = writeResult('mfrl', {
  started,
  finished: new Date().toISOString(),
  quick,
  backend,
  loadavg: { start: loadStart, end: loadEnd },
  shape,
  encodedInputs: viewEncoding(view).size + shape.features,
  forwardFlops: Object.fromEntries(NET_KINDS.map((n) => [n, forwardFlops(shape, false, n)])),
  gibbs,
  references: { openblas_matmul: [blas2, blas1], numpy_mfq_update: numpy, tfjs_matmul: tfjsMatmul },
  rows,
  targets,
  note: 'update figures of rows whose training round is shorter than half an acting step are noise (bench learn subtracts the mean acting step from the last step); they are blank in rows and left out of the targets',
});
console.log(`wrote ${path}`);
