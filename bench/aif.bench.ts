/**
 * `pnpm bench aif`: agent-steps per second of batched active inference (state inference by fpi,
 * expected free energy of every policy, q(pi), action selection) for
 *   - the T-maze model (2 factors, 3 modalities) with 4 policies (policy_len 1) and 64 (policy_len 3),
 *   - the aif-forage model (26 states, 2 modalities, 5 moves) with 125 policies (policy_len 3),
 * at 1, 1k and 10k agents, against pymdp's single-agent NumPy figures (1.3 ms per agent-step with
 * 4 policies; 1.5 to 2 s with 625 policies). For 64 and 125 policies pymdp has no figure of its
 * own here: we use the smaller of the two linear extrapolations (1.3 ms x P / 4 and 1.5 s x P / 625),
 * which is the one least favourable to us.
 *
 * A second table compares the typed-array kernel with the same policy evaluation written in tfjs
 * tensors (batched matmuls, T-maze, policy_len 1) on the backends available in Node.
 */
import { AifAgents } from '@gibbs/agents/aif/agent';
import type { AgentConfig, GenerativeModel } from '@gibbs/agents/aif/model';
import { tf } from '@gibbs/agents/tf';
import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { forageModel } from '../experiments/aif-forage.ts';
import { tmazeModel } from '../experiments/tmaze.ts';
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

/** pymdp's cost per agent-step (ms), extrapolated conservatively for P policies. */
function pymdpMs(P: number): number {
  if (P === 4) return 1.3;
  return Math.min((1.3 * P) / 4, (1500 * P) / 625);
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
  const rows: Row[] = [];
  for (const c of cases) {
    for (const N of COUNTS) {
      const agents = new AifAgents({ model: c.model, config: config(c.policyLen), count: N });
      const obs = observations(agents, 4, N);
      let k = 0;
      const reps = N >= 10_000 ? 3 : 5;
      // Small batches repeat the step (about 1000 agent-steps per timing): the CPU clock is coarse.
      const inner = Math.max(1, Math.floor(1000 / N));
      const ms =
        cpuMedian(
          () => {
            for (let r = 0; r < inner; r++) {
              agents.step(obs[k++ % obs.length]);
              if (k % 3 === 0) agents.reset();
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
        'pymdp ms/agent-step': pymdpMs(P),
        'x cheaper than pymdp': (pymdpMs(P) * 1000) / perAgentUs,
      });
    }
  }
  printTable(
    'Batched active inference, one step of every agent (typed arrays, float64; CPU time)',
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
  const path = writeResult('aif', { steps: rows, tfjs: tfRows });
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
  const Bt = tf.tensor3d(
    Array.from({ length: 4 * 16 }, (_, k) => {
      const a = Math.floor(k / 16);
      const j = Math.floor((k % 16) / 4); // prev
      const i = k % 4; // next
      return B[(i * 4 + j) * 4 + a];
    }),
    [4, 4, 4],
  ); // [action, prev, next]
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
      const next = tf.stack([0, 1, 2, 3].map((a) => loc.matMul(Bt.gather(a)))) as tf.Tensor3D;
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
  out.dispose();
  return { ms, maxDiff };
}

await main();
