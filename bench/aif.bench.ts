/**
 * `pnpm bench aif`: agent-steps per second of batched active inference (state inference by fpi,
 * expected free energy of every policy, q(pi), action selection) for
 *   - the T-maze model (2 factors, 3 modalities) with 4 policies (policy_len 1) and 64 (policy_len 3),
 *   - the aif-forage model (26 states, 2 modalities, 5 moves) with 125 policies (policy_len 3),
 * at 1, 1k and 10k agents, beside pymdp's single-agent NumPy `Agent` on the same models, measured
 * in the same run: bench/pymdp/time_agent.py times pymdp's infer_states + infer_policies +
 * sample_action per agent-step (median CPU time, the same clock as ours, OpenBLAS on one thread as
 * our kernel runs on one) with the same observations and the same reset schedule.
 *
 * It needs python3 with numpy and scipy, and pymdp checkouts listed in $PYMDP_PATH (':'-separated,
 * by default /tmp/pymdp), each measured in turn. The script understands both NumPy agents (see its
 * header): v0.0.7.1, the last release before JAX, and `pymdp.legacy` of pymdp >= 1.0 (also needs
 * opt_einsum), the code our conformance cases come from; v0.0.7.1's state information gain is the
 * joint one over all modalities, so its q(pi) differs a little from ours and the legacy agent's.
 *   git clone --depth 1 --branch v0.0.7.1 https://github.com/infer-actively/pymdp /tmp/pymdp-0.0.7.1
 *   git clone https://github.com/infer-actively/pymdp /tmp/pymdp
 *   PYMDP_PATH=/tmp/pymdp-0.0.7.1:/tmp/pymdp pnpm bench aif
 * A path where pymdp cannot be imported is reported ("pymdp not found: ...") and skipped; with
 * none, the pymdp columns stay empty: the bench never quotes fixed figures. As a check that both
 * sides compute the same thing, the pymdp table shows the largest difference between pymdp's q(pi)
 * and ours after one step from a fresh agent.
 *
 * A second table compares the typed-array kernel with the same policy evaluation written in tfjs
 * tensors (batched matmuls, T-maze, policy_len 1) on the backends available in Node.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AifAgents } from '@gibbs/agents/aif/agent';
import type { Tensor } from '@gibbs/agents/aif/maths';
import type { AgentConfig, GenerativeModel } from '@gibbs/agents/aif/model';
import { tf } from '@gibbs/agents/tf';
import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { forageModel } from '@gibbs/experiments/aif-forage';
import { tmazeModel } from '@gibbs/experiments/tmaze';
import { printTable, type Row, writeResult } from './lib.ts';

/**
 * Median CPU time (user + system, ms) of `fn` over `reps` calls after `warmup` untimed ones: the
 * kernels run on the calling thread (tfjs wasm included), and CPU time is far less disturbed than
 * wall time on a shared, loaded machine.
 */
function cpuMedian(fn: () => void, reps: number, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    fn();
    const d = process.cpuUsage(c0);
    t.push((d.user + d.system) / 1000);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

const quick = process.argv.includes('--quick');
const COUNTS = quick ? [1, 1000] : [1, 1000, 10_000];

const config = (policyLen: number): AgentConfig => ({
  policyLen,
  gamma: 16,
  alpha: 16,
  useUtility: true,
  useStatesInfoGain: true,
  useParamInfoGain: false,
  actionSelection: 'deterministic',
  inference: { algo: 'fpi', numIter: 10, dFTol: 0.001 },
});

const forage = forageModel({
  radius: 2,
  smellNoise: 0.1,
  volatility: 0.05,
  appear: 0.2,
  foodPref: 4,
  concentration: 0,
});

const cases: { name: string; model: GenerativeModel; policyLen: number }[] = [
  { name: 'T-maze', model: tmazeModel(0.98, 3), policyLen: 1 },
  { name: 'T-maze', model: tmazeModel(0.98, 3), policyLen: 3 },
  { name: 'forage', model: forage, policyLen: 3 },
];

const PYMDP_PATHS = (process.env.PYMDP_PATH || '/tmp/pymdp').split(':').filter((p) => p !== '');
const PYMDP_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pymdp', 'time_agent.py');
const RESET_EVERY = 3;

interface PymdpCase {
  name: string;
  policies: number;
  cpuMs: number;
  wallMs: number;
  reps: number;
  stepsPerRep: number;
  qPiFirst: number[];
  actionFirst: number[];
}
interface PymdpRun {
  pymdp: {
    path: string;
    flavor: 'v0' | 'legacy';
    version: string | null;
    commit?: string | null;
    numpy: string;
    python: string;
    stubbed: string[];
  };
  cases: PymdpCase[];
}

const plain = (t: Tensor) => ({ shape: [...t.shape], data: Array.from(t.data) });

/**
 * Times the pymdp at `path` on every case (bench/pymdp/time_agent.py, one python3 process).
 * Returns null, after printing why, when python3 or pymdp is missing or the script fails.
 */
function runPymdp(
  path: string,
  inputs: { c: (typeof cases)[number]; obs: Int32Array[] }[],
): PymdpRun | null {
  const spec = {
    reps: quick ? 3 : 7,
    minRepMs: 30,
    cases: inputs.map(({ c, obs }) => {
      const k = config(c.policyLen);
      return {
        name: c.name,
        policyLen: c.policyLen,
        A: c.model.A.map(plain),
        B: c.model.B.map(plain),
        C: c.model.C.map((x) => (x instanceof Float64Array ? Array.from(x) : plain(x))),
        D: c.model.D.map((x) => Array.from(x)),
        obs: obs.map((o) => Array.from(o)),
        resetEvery: RESET_EVERY,
        gamma: k.gamma,
        alpha: k.alpha,
        useUtility: k.useUtility,
        useStatesInfoGain: k.useStatesInfoGain,
        actionSelection: k.actionSelection,
        numIter: k.inference.numIter,
        dFTol: k.inference.dFTol,
      };
    }),
  };
  const r = spawnSync('python3', [PYMDP_SCRIPT, path], {
    input: JSON.stringify(spec),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    // One BLAS thread, as our kernel runs on one thread.
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  let out: (PymdpRun & { error?: undefined }) | { error: string } | null = null;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    out = null;
  }
  if (r.error || !out || out.error !== undefined) {
    const why = r.error?.message ?? out?.error ?? (r.stderr.trim() || `exit status ${r.status}`);
    console.log(
      `\npymdp not found: ${why}. Set PYMDP_PATH to a checkout of pymdp (v0.0.7.1, or >= 1.0 for ` +
        `its NumPy legacy agent), e.g. git clone --depth 1 --branch v0.0.7.1 ` +
        `https://github.com/infer-actively/pymdp ${path}; no pymdp figures from it.`,
    );
    return null;
  }
  if (r.stderr.trim()) console.log(r.stderr.trim());
  // The commit, when the path is a git checkout (a `git archive` copy has none).
  const git = spawnSync('git', ['-C', path, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  out.pymdp.commit = git.status === 0 ? git.stdout.trim() : null;
  return out;
}

/** Largest |q(pi) difference| between pymdp and us after one step of a fresh agent on obs. */
function qPiDiff(c: (typeof cases)[number], obs: Int32Array, ref: number[]): number {
  const a = new AifAgents({ model: c.model, config: config(c.policyLen), count: 1 });
  a.step(obs);
  if (ref.length !== a.numPolicies) return Number.NaN;
  let d = 0;
  for (let p = 0; p < ref.length; p++) d = Math.max(d, Math.abs(a.efe.qPi[p] - ref[p]));
  return d;
}

/** Random valid observations for N agents (several sets, cycled). */
function observations(agents: AifAgents, sets: number, seed: number): Int32Array[] {
  const rng = new Rng(seed);
  const { M, numObs } = agents.layout;
  return Array.from({ length: sets }, () => {
    const o = new Int32Array(agents.count * M);
    for (let n = 0; n < agents.count; n++)
      for (let m = 0; m < M; m++) o[n * M + m] = rng.int(numObs[m]);
    return o;
  });
}

async function main(): Promise<void> {
  // Both sides are timed one after the other on a shared machine: keep its load beside the figures.
  const loadStart = loadavg();
  // The observations of the single-agent runs, which pymdp gets too.
  const inputs = cases.map((c) => ({
    c,
    obs: observations(
      new AifAgents({ model: c.model, config: config(c.policyLen), count: 1 }),
      4,
      1,
    ),
  }));
  const pys = PYMDP_PATHS.map((path) => runPymdp(path, inputs)).filter((r) => r !== null);
  const label = (py: PymdpRun) =>
    `pymdp ${py.pymdp.version ?? '?'}${py.pymdp.flavor === 'legacy' ? ' legacy' : ''}`;
  const pymdpRuns = pys.map((py) => {
    const rows: Row[] = inputs.map(({ c, obs }, i) => {
      const p = py.cases[i];
      return {
        model: c.name,
        policies: p.policies,
        'cpu ms/agent-step': p.cpuMs,
        'wall ms/agent-step': p.wallMs,
        'steps x reps': `${p.stepsPerRep} x ${p.reps}`,
        'max |q(pi) diff| vs Gibbs': qPiDiff(c, obs[0], p.qPiFirst),
      };
    });
    printTable(
      `${label(py)} NumPy Agent, one agent (measured now: ${py.pymdp.path}, ` +
        `numpy ${py.pymdp.numpy}, python ${py.pymdp.python}, one BLAS thread)`,
      rows,
    );
    return { ...py.pymdp, cases: rows };
  });

  const rows: Row[] = [];
  for (const [ci, c] of cases.entries()) {
    for (const N of COUNTS) {
      const agents = new AifAgents({ model: c.model, config: config(c.policyLen), count: N });
      const obs = N === 1 ? inputs[ci].obs : observations(agents, 4, N);
      let k = 0;
      const reps = N >= 10_000 ? 3 : 5;
      // Small batches repeat the step (about 1000 agent-steps per timing): the CPU clock is coarse.
      const inner = Math.max(1, Math.floor(1000 / N));
      const ms =
        cpuMedian(
          () => {
            for (let r = 0; r < inner; r++) {
              agents.step(obs[k++ % obs.length]);
              if (k % RESET_EVERY === 0) agents.reset();
            }
          },
          reps,
          2,
        ) / inner;
      const perAgentUs = (ms * 1000) / N;
      const P = agents.numPolicies;
      rows.push({
        model: c.name,
        policies: P,
        agents: N,
        'ms/step': ms,
        'us/agent-step': perAgentUs,
        'agent-steps/s': Math.round((N * 1000) / ms),
      });
      const row = rows[rows.length - 1];
      for (const py of pys) {
        const pyMs = py.cases[ci].cpuMs;
        row[`${label(py)} ms/agent-step`] = pyMs;
        row[`Gibbs/${label(py)}`] = perAgentUs / 1000 / pyMs;
      }
      if (pys.length === 0) {
        row['pymdp ms/agent-step'] = null;
        row['Gibbs/pymdp'] = null;
      }
    }
  }
  printTable(
    'Batched active inference, one step of every agent (typed arrays, float64; CPU time), beside ' +
      'pymdp (one agent, measured above; Gibbs/pymdp = our time per agent-step over theirs)',
    rows,
  );

  // tfjs variant of the T-maze policy evaluation (policy_len 1: -G = utility + state info gain).
  const tfRows: Row[] = [];
  const N = quick ? 1000 : 10_000;
  const ref = new AifAgents({ model: tmazeModel(0.98, 3), config: config(1), count: N });
  const obs = observations(ref, 1, 7)[0];
  ref.inferStates(obs);
  const typedMs = cpuMedian(() => ref.inferPolicies(), 5, 1);
  tfRows.push({
    variant: 'typed arrays',
    agents: N,
    'cpu ms (EFE of 4 policies)': typedMs,
    'max |q(pi) diff|': 0,
  });
  for (const backend of ['wasm', 'cpu']) {
    try {
      await initBackend(backend);
    } catch {
      continue;
    }
    const { ms, maxDiff } = tfjsTmaze(ref, N);
    tfRows.push({
      variant: `tfjs ${backend}`,
      agents: N,
      'cpu ms (EFE of 4 policies)': ms,
      'max |q(pi) diff|': maxDiff,
    });
  }
  printTable('T-maze policy evaluation: typed arrays vs tfjs tensors', tfRows);
  const path = writeResult('aif', {
    pymdp: {
      source:
        pymdpRuns.length > 0
          ? 'measured in this run by bench/pymdp/time_agent.py on the pymdp checkouts in ' +
            '$PYMDP_PATH (runs[].path; version from their pyproject.toml/setup.py; tag v0.0.7.1 ' +
            'of infer-actively/pymdp is commit 2d2152c79d4b28c8efc4a7a77012a5d1c146ec32): its ' +
            'NumPy Agent (v0: pymdp.agent, legacy: pymdp.legacy.agent), one agent, infer_states + ' +
            'infer_policies + sample_action, the same models, observations and reset schedule as ' +
            'the Gibbs rows, median CPU time per agent-step, OPENBLAS_NUM_THREADS=1'
          : null,
      note:
        pymdpRuns.length > 0
          ? undefined
          : `pymdp not found at ${PYMDP_PATHS.join(':')}: no pymdp figures, no ratios`,
      runs: pymdpRuns,
    },
    loadavg: { start: loadStart, end: loadavg() },
    steps: rows,
    tfjs: tfRows,
  });
  console.log(`\nwrote ${path}`);
}

/**
 * The T-maze's -G and q(pi) for all agents with tfjs: qs_pi = qs_loc B_a^T per action, the joint
 * with the context belief by broadcasting, qo_m = qx A_m^T, utility qo.lnC, info gain
 * qx.negH - qo.ln qo. Returns the median time and the largest difference from the typed kernel.
 */
function tfjsTmaze(ref: AifAgents, N: number): { ms: number; maxDiff: number } {
  const model = tmazeModel(0.98, 3);
  const { Q, S } = ref.layout;
  const qsLoc = new Float32Array(N * 4);
  const qsCtx = new Float32Array(N * 2);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < 4; i++) qsLoc[n * 4 + i] = ref.qs[n * Q + i];
    for (let i = 0; i < 2; i++) qsCtx[n * 2 + i] = ref.qs[n * Q + 4 + i];
  }
  const B = model.B[0].data;
  // Constant tensors are uploaded once; each matMul is a plain 2-D product (no transpose flags,
  // no 3-D batched matMul: both fall to tfjs-wasm's slow path).
  const Bs = [0, 1, 2, 3].map((a) =>
    tf.tensor2d(
      Array.from({ length: 16 }, (_, k) => B[((k % 4) * 4 + Math.floor(k / 4)) * 4 + a]),
      [4, 4],
    ),
  ); // B_a^T: [prev, next]
  const As = model.A.map((a) => tf.tensor2d(Array.from(a.data), [a.shape[0], S]).transpose()); // [S, no]
  const lnC = model.C.map((c) =>
    tf
      .logSoftmax(tf.tensor1d(Array.from(c as Float64Array)))
      .add(0)
      .exp()
      .add(1e-16)
      .log(),
  );
  const negH = model.A.map((a) => {
    const t = tf.tensor2d(Array.from(a.data), [a.shape[0], S]);
    return t.mul(t.add(Math.exp(-16)).log()).sum(0); // [S]
  });
  const loc = tf.tensor2d(qsLoc, [N, 4]);
  const ctx = tf.tensor2d(qsCtx, [N, 2]);
  const gamma = 16;
  const run = () =>
    tf.tidy(() => {
      // [action, N, next]
      const next = tf.stack(Bs.map((b) => loc.matMul(b))) as tf.Tensor3D;
      const qx = next
        .expandDims(3)
        .mul(ctx.expandDims(0).expandDims(2))
        .reshape([4 * N, S]);
      let g = tf.zeros([4 * N]);
      for (let m = 0; m < As.length; m++) {
        const qo = qx.matMul(As[m]);
        const util = qo.matMul(lnC[m].expandDims(1)).squeeze([1]);
        const sig = qx
          .matMul(negH[m].expandDims(1))
          .squeeze([1])
          .sub(qo.mul(qo.add(1e-16).log()).sum(1));
        g = g.add(util).add(sig);
      }
      return tf.softmax(g.reshape([4, N]).transpose().mul(gamma));
    });
  let out = run();
  const ms = cpuMedian(
    () => {
      out.dispose();
      out = run();
      out.dataSync();
    },
    5,
    1,
  );
  const q = out.dataSync();
  let maxDiff = 0;
  for (let i = 0; i < N * 4; i++) maxDiff = Math.max(maxDiff, Math.abs(q[i] - ref.efe.qPi[i]));
  tf.dispose([out, ...Bs, ...As, ...lnC, ...negH, loc, ctx]);
  return { ms, maxDiff };
}

await main();
