/**
 * `pnpm gibbs run battle-train --algo mfq|mfac|il|ac --rounds 20 --steps 8000 --out runs/mfq`
 *
 * Self-play training on Battle as in mlii/mfrl's train_battle.py: 64 against 64 on a 40x40 map,
 * at most 400 steps a round; the learner plays red, an opponent of the same algorithm plays blue
 * and follows the learner by a soft update (tau = opponentTau) after each round the learner wins
 * (more kills). The learner trains at the end of every round. One run step is one environment
 * step, so `--steps` should be at least rounds x maxSteps; once `rounds` rounds are done the run
 * idles.
 *
 * Checkpoints (tfjs format, atomic) go to `<out>/checkpoints/round-NNNNNN/` every
 * `checkpointEvery` rounds and after the last one; `--resume DIR` (a run directory or a
 * checkpoint) continues exactly where that run stopped, up to `--rounds` rounds and `--steps`
 * steps in total; in the same directory (the default without `--out`) metrics.jsonl and
 * rounds.jsonl keep what was logged up to the checkpoint and go on from there.
 * In a browser page (no run directory) the same files live in memory: the page downloads the
 * latest checkpoint (Simulation.checkpoint, a tar of its round directory) and loads one back
 * (ExperimentContext.restore), and the runtime continues from it on another tfjs backend when
 * this one fails.
 * Algorithm hyperparameters (MFQConfig, MFACConfig or ACConfig in @gibbs/agents, by `algo`): each
 * is a flag of the CLI (`--lr 1e-3 --priorityAlpha 0.6`), folded into the `config` JSON
 * (`--config '{"lr":1e-3}'`, e.g. from a file) with the flag winning; `run battle-train --help`
 * lists them with their types and defaults.
 *
 * Logged each step: values loss, mean_q, ess (of the last training round), temperature,
 * policy_entropy (per live agent), round, learner_won, win_rate (of the last 10 rounds); per
 * group alive, reward_mean, kills, kills_round, policy_entropy (mean over the group's agents),
 * mean_policy_entropy (entropy of the group's average policy).
 */
import {
  ALGO_CONFIGS,
  ALGOS,
  createLearner,
  createPlayer,
  forwardFlops,
  groupShape,
  NETS,
  type NetKind,
  SelfPlay,
} from '@gibbs/agents';
import {
  loadTraining,
  readTrainingState,
  resolveCheckpoint,
  saveTraining,
} from '@gibbs/agents/checkpoint';
import {
  basenamePath as basename,
  defineExperiment,
  dirnamePath as dirname,
  type Files,
  filesFromTar,
  GibbsError,
  joinPath as join,
  MemoryFiles,
  nodeFiles,
  Rng,
  tar,
  walkFiles,
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

/**
 * A run resumed in its own directory from checkpoint `roundDir` (round `round`): latest.json is
 * switched to it first, then the checkpoints of later rounds are removed.
 */
function dropLaterCheckpoints(files: Files, outDir: string, roundDir: string, round: number) {
  const ck = files.resolve(join(outDir, 'checkpoints'));
  if (files.resolve(dirname(roundDir)) !== ck) return;
  files.write(join(ck, 'latest.json'), `${JSON.stringify({ round, path: basename(roundDir) })}\n`);
  for (const name of files.list(ck)) {
    const m = /^round-(\d+)$/.exec(name);
    if (m && Number(m[1]) > round) files.remove(join(ck, name));
  }
}

/** Keep the rounds.jsonl lines of rounds before `round` (a resumed run plays the rest again). */
function keepRoundsBefore(files: Files, path: string, round: number): void {
  if (!files.exists(path)) return;
  const kept = new TextDecoder()
    .decode(files.read(path))
    .split('\n')
    .filter((line) => {
      try {
        return (JSON.parse(line) as { episode?: number }).episode! < round;
      } catch {
        return false; // a half-written last line, or the empty one after the last newline
      }
    });
  files.write(path, kept.map((l) => `${l}\n`).join(''));
}

/** The disk, where there is one (Node); null in a page. */
function disk(): Files | null {
  try {
    return nodeFiles();
  } catch {
    return null;
  }
}

/** Each network with its forward FLOPs per agent on Battle's observations (MF-Q's Q-network). */
function netDescription(): string {
  const shape = { view: { height: 13, width: 13, channels: 5 }, features: 24, actions: 21 };
  const mflop = (net: NetKind) =>
    (forwardFlops({ ...shape, meanAction: true }, false, net) / 1e6).toFixed(2);
  return `population (${mflop('population')} MFLOP per agent forward) | mfrl (mlii/mfrl's, ${mflop('mfrl')} MFLOP)`;
}

export const battleTrainParams = z.object({
  algo: z.enum(ALGOS).default('mfq').describe('mfq | mfac | il | ac'),
  net: z.enum(NETS).default('population').describe(netDescription()),
  rounds: z.number().int().positive().default(20).describe('rounds (episodes) to train in total'),
  ...battleMapParams,
  opponentTau: z.number().min(0).max(1).default(0.01).describe('opponent soft update on a win'),
  checkpointEvery: z.number().int().positive().default(5).describe('rounds between checkpoints'),
  keepCheckpoints: z.number().int().positive().default(2).describe('newest checkpoints kept'),
  resume: z.string().default('').describe('run directory or checkpoint to continue from'),
  config: z
    .string()
    .default('{}')
    .describe('JSON object of algorithm hyperparameters (each is a flag too; a flag wins)'),
  threads: learnerThreadsParam,
  envThreads: envThreadsParam,
});

export default defineExperiment({
  name: 'battle-train',
  description:
    'Self-play training of MF-Q, MF-AC, IL or AC on Battle (mfrl setting: 64 vs 64, 40x40, 400 steps)',
  params: battleTrainParams,
  hyperparameters: { param: 'config', by: 'algo', schemas: ALGO_CONFIGS },
  defaultSteps: 20 * 400,
  async create({ params, seed, outDir, backend: forced, restore, log, flush }) {
    const backend = await initBackend(forced);
    const env = createBattle(params);
    let overrides: Record<string, unknown>;
    try {
      overrides = JSON.parse(params.config) as Record<string, unknown>;
    } catch {
      throw GibbsError.invalid('config', params.config, 'a JSON object of hyperparameters');
    }
    // `null`, `5` or `[1]` parse as JSON but are not hyperparameters.
    if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
      throw GibbsError.invalid('config', params.config, 'a JSON object of hyperparameters');
    }
    // The run directory: on disk with --out (Node), else in memory (a page, or a run without one).
    const files: Files = outDir ? nodeFiles() : new MemoryFiles();
    const runDir = outDir ?? '/run';
    // Where to continue from: a checkpoint handed over as a tar (a page's upload, a backend
    // fallback), else --resume on disk.
    let from: { files: Files; round: string } | null = null;
    if (restore) {
      const mem = filesFromTar(restore);
      const round = resolveCheckpoint('/', mem).round;
      if (!round)
        throw GibbsError.invalid('restore', 'a tar', 'the tar of a round-NNNNNN checkpoint');
      from = { files: mem, round };
    } else if (params.resume) {
      const fs = disk();
      if (!fs) {
        throw GibbsError.invalid(
          'resume',
          params.resume,
          'empty in a page (it has no files): load a checkpoint into the page instead',
        );
      }
      const round = resolveCheckpoint(params.resume, fs).round;
      if (!round) {
        throw GibbsError.invalid(
          'resume',
          params.resume,
          'a run directory or round-NNNNNN checkpoint',
        );
      }
      from = { files: fs, round };
    }
    const roundDir = from?.round ?? null;
    if (from && roundDir) {
      const state = readTrainingState(roundDir, from.files);
      if (state.algo !== params.algo) {
        throw new GibbsError(
          `resume: checkpoint ${join(roundDir, 'state.json')} was trained with --algo ${state.algo}, this run has --algo ${params.algo}`,
          'resume',
          params.resume,
          `a checkpoint of ${params.algo}`,
        );
      }
      // Continue with the hyperparameters the run started with (overrides on top).
      const saved = (state.params as { config?: string } | undefined)?.config ?? '{}';
      overrides = { ...(JSON.parse(saved) as Record<string, unknown>), ...overrides };
    } else overrides = { net: params.net, ...overrides };
    let lastSaved: { files: Files; dir: string } | null = from
      ? { files: from.files, dir: from.round }
      : null;
    const shape = groupShape(env, 0);
    const rng = new Rng(seed);
    const learner = createLearner(params.algo, shape, overrides, rng.fork());
    const opponent = createPlayer(params.algo, shape, overrides, rng.fork());
    const sp = new SelfPlay(
      env,
      learner,
      opponent,
      {
        rounds: params.rounds,
        opponentTau: params.opponentTau,
        learnerGroup: 0,
        train: true,
        evalTemperature: 0.1,
        threads: params.threads,
      },
      rng.u32(),
      {
        onRoundEnd: async (s) => {
          const e = s.lastSummary;
          if (e && log) {
            const red = e.groups.red ?? {};
            const blue = e.groups.blue ?? {};
            log(
              `round ${e.episode + 1}/${s.cfg.rounds}: ${e.length} steps, kills ${red.kills}-${blue.kills}, loss ${e.values.loss?.toFixed(4) ?? '-'}, T ${e.values.temperature.toFixed(3)}`,
            );
          }
          // One line per finished round (the learning curve), appended as it ends.
          if (e) files.append(join(runDir, 'rounds.jsonl'), `${JSON.stringify(e)}\n`);
          if (s.round % params.checkpointEvery === 0 || s.finished) {
            flush?.(); // the rows logged so far reach metrics.jsonl before the checkpoint
            const dir = await saveTraining(
              runDir,
              s,
              { params: { ...params, config: JSON.stringify(overrides) } },
              params.keepCheckpoints,
              files,
            );
            lastSaved = { files, dir };
            if (outDir) log?.(`checkpoint ${dir}`);
          }
        },
      },
    );
    if (from && roundDir) {
      await loadTraining(roundDir, sp, from.files);
      sp.setRounds(params.rounds);
      log?.(
        `resumed from ${restore ? 'the checkpoint given' : roundDir} at round ${sp.round}, step ${sp.step}`,
      );
      // Continuing in the same directory: the rounds after the checkpoint are played again, and
      // its later checkpoints belong to the history dropped (resuming from DIR later must not
      // pick one of them up: metrics.jsonl no longer has their rows).
      if (outDir && !restore) {
        keepRoundsBefore(files, join(outDir, 'rounds.jsonl'), sp.round);
        dropLaterCheckpoints(files, outDir, roundDir, sp.round);
      }
    }
    return {
      ...battleSimulation(backend, env, sp),
      // The latest checkpoint as one tar (the page's download, the runtime's backend fallback).
      checkpoint: async () => (lastSaved ? tar(walkFiles(lastSaved.files, lastSaved.dir)) : null),
      drainEpisodes: () => sp.drainEpisodes(),
      // The run loop goes on from the checkpoint's step (metrics.jsonl keeps the rows up to it).
      startStep: sp.step,
    };
  },
});
