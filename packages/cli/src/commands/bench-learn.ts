/**
 * `pnpm --silent gibbs bench learn --algo mfq|mfac|il|ac --agents N --map W [--net NAME]
 *  [--threads K] [--batch B] [--steps T] [--seed S] [--json]`
 *
 * The learners' speed on Battle, measured the way battle-train runs them: one self-play round of
 * T steps (both groups act, one forward pass per group; the learner writes its experience), then
 * the learner's training round. Reported:
 *   acting_agent_steps_per_s  forward + sampling for every live agent, world step and replay
 *                             writes included (every step, its training round taken out)
 *   update_samples_per_s      replay samples through forward, backward and Adam (the training
 *                             round alone: batch x updates / its time)
 *   train_agent_steps_per_s   the whole round, acting and updates interleaved, agent-steps / s
 * A round of battle-train's default length (400 steps) makes ceil(new rows / batch) updates, at
 * most maxUpdatesPerRound (200); a T-step bench round keeps that ratio of updates to steps:
 * at most ceil(200 T / 400) updates (`updates_cap` in the output).
 */
import {
  ALGOS,
  type Algo,
  createLearner,
  createPlayer,
  forwardFlops,
  groupShape,
  type Learner,
  NETS,
  type NetKind,
  SelfPlay,
} from '@gibbs/agents';
import { GibbsError, Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { environments } from '@gibbs/env';
import { parseArgs, takeFlag, takeInt, takeString } from '../args.ts';

export interface LearnBenchOptions {
  algo: Algo;
  agents: number;
  map: number;
  net: NetKind;
  threads: number;
  batch: number | null;
  steps: number;
  seed: number;
}

export interface LearnBenchResult {
  algo: Algo;
  agents: number;
  map: number;
  net: NetKind;
  threads: number;
  batch: number;
  steps: number;
  backend: string;
  /** Multiply-adds x2 of one agent's forward pass when acting (the actor alone for AC/MF-AC). */
  flops_per_agent_forward: number;
  acting_agent_steps_per_s: number;
  acting_ms_per_step: number;
  updates: number;
  updates_cap: number;
  update_samples_per_s: number;
  /** Counting forward + backward as 3x the forward FLOPs of the trained network. */
  update_gflops: number;
  train_ms: number;
  train_agent_steps_per_s: number;
}

/** The bench itself (also called by bench/mfrl.bench.ts through the CLI, one process a row). */
export async function benchLearn(o: LearnBenchOptions): Promise<LearnBenchResult> {
  const backend = await initBackend(process.env.GIBBS_BACKEND);
  const entry = environments.battle;
  if (!entry) throw GibbsError.invalid('environment', 'battle', 'the battle environment');
  const env = entry.create(
    entry.config.parse({ map: o.map, agents: o.agents, maxSteps: o.steps, placement: 'random' }),
  );
  const shape = groupShape(env, 0);
  const rng = new Rng(o.seed);
  const cap = Math.ceil((200 * o.steps) / 400);
  const cfg: Record<string, unknown> = {
    net: o.net,
    maxUpdatesPerRound: cap,
    // The Q-learners' replay may start at once (a short round has few rows).
    ...(o.algo === 'mfq' || o.algo === 'il' ? { learningStarts: 1 } : {}),
    ...(o.batch ? { batchSize: o.batch } : {}),
  };
  const learner: Learner = createLearner(o.algo, shape, cfg, rng.fork());
  const opponent = createPlayer(o.algo, shape, cfg, rng.fork());
  const sp = new SelfPlay(
    env,
    learner,
    opponent,
    {
      rounds: 1,
      opponentTau: 0.01,
      learnerGroup: 0,
      train: true,
      evalTemperature: 0.1,
      threads: o.threads,
    },
    o.seed,
  );
  try {
    await sp.ready();
    let agentSteps = 0;
    let actMs = 0;
    let totalMs = 0;
    for (let s = 0; s < o.steps; s++) {
      const live = sp.liveAgents();
      const t0 = performance.now();
      await sp.advance();
      const dt = performance.now() - t0;
      agentSteps += live;
      totalMs += dt;
      if (s < o.steps - 1) actMs += dt;
    }
    // The training round, timed inside the last step; that step's acting counts as acting.
    const trainMs = sp.lastTrainMs;
    actMs += totalMs - actMs - trainMs;
    const m = sp.metrics();
    const updates = m.values.updates ?? 0;
    const batch = (learner.config.batchSize as number) ?? 0;
    const ac = o.algo === 'mfac' || o.algo === 'ac';
    const trained = forwardFlops(learner.shape, ac, o.net);

    return {
      algo: o.algo,
      agents: o.agents,
      map: o.map,
      net: o.net,
      threads: o.threads,
      batch,
      steps: o.steps,
      backend,
      flops_per_agent_forward: forwardFlops(learner.shape, ac, o.net, true),
      acting_agent_steps_per_s: (agentSteps * 1000) / actMs,
      acting_ms_per_step: actMs / o.steps,
      updates,
      updates_cap: cap,
      update_samples_per_s: (updates * batch * 1000) / trainMs,
      update_gflops: (3 * trained * updates * batch) / trainMs / 1e6,
      train_ms: trainMs,
      train_agent_steps_per_s: (agentSteps * 1000) / totalMs,
    };
  } finally {
    await sp.dispose();
    await env.dispose?.();
  }
}

function usage(): string {
  return [
    'Usage: pnpm --silent gibbs bench learn --algo mfq|mfac|il|ac --agents N --map W',
    '         [--net population|mfrl] [--threads K] [--batch B] [--steps T] [--seed S] [--json]',
    'One self-play round of T steps on Battle (N per side on W x W) and its training round.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'gibbs bench learn',
    options: {
      algo: { type: 'string' },
      net: { type: 'string' },
      agents: { type: 'string' },
      map: { type: 'string' },
      threads: { type: 'string' },
      batch: { type: 'string' },
      steps: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (args.options.has('help')) {
    console.log(usage());
    return 0;
  }
  const algo = takeString(args, 'algo') ?? 'mfq';
  if (!(ALGOS as readonly string[]).includes(algo))
    throw GibbsError.invalid('--algo', algo, `one of ${ALGOS.join(', ')}`);
  const net = takeString(args, 'net') ?? 'population';
  if (!(NETS as readonly string[]).includes(net))
    throw GibbsError.invalid('--net', net, `one of ${NETS.join(', ')}`);
  const agents = takeInt(args, 'agents', 64, 1, 1_000_000);
  const o: LearnBenchOptions = {
    algo: algo as Algo,
    net: net as NetKind,
    agents,
    map: takeInt(args, 'map', 40, 8, 4096),
    threads: takeInt(args, 'threads', 1, 1, 16),
    batch: args.options.has('batch') ? takeInt(args, 'batch', 128, 1, 65536) : null,
    steps: takeInt(args, 'steps', 20, 2, 100_000),
    seed: takeInt(args, 'seed', 1, 0, 2 ** 32 - 1),
  };
  const json = takeFlag(args, 'json');
  if (args.positionals.length > 0)
    throw GibbsError.invalid(
      'argument',
      args.positionals[0],
      'options only (gibbs bench learn --help)',
    );
  const r = await benchLearn(o);
  if (json) {
    console.log(JSON.stringify(r));
    return 0;
  }
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(
    [
      `learn ${r.algo} --net ${r.net}: 2x${r.agents} on ${r.map}x${r.map}, ${r.steps} steps, ${r.threads} thread(s), ${r.backend}`,
      `  forward             ${(r.flops_per_agent_forward / 1e6).toFixed(3)} MFLOP per agent`,
      `  acting              ${f(r.acting_agent_steps_per_s)} agent-steps/s (${r.acting_ms_per_step.toFixed(2)} ms per step)`,
      `  update              ${f(r.update_samples_per_s)} samples/s (${r.updates} x ${r.batch}, ${r.update_gflops.toFixed(2)} GFLOP/s)`,
      `  training (both)     ${f(r.train_agent_steps_per_s)} agent-steps/s`,
    ].join('\n'),
  );
  return 0;
}
