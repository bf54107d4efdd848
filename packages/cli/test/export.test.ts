/**
 * `gibbs export` as a user runs it (issue 12, item 3): a network trained for two rounds by
 * `gibbs run battle-train`, exported, then loaded by plain tfjs code (`tf.loadLayersModel(
 * tf.io.fromMemory(...))` on the two files, nothing of Gibbs) gives the Q-values (MF-Q) or the
 * policy (MF-AC) that Gibbs's own acting path computes for the same raw observations. Bad input is
 * one line naming what is wrong, exit code 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { MFQ } from '@gibbs/agents';
import { loadPlayer, loadTensors, resolveCheckpoint } from '@gibbs/agents/checkpoint';
import { gibbsNetwork, gibbsOutputs, randomBatch } from '@gibbs/agents/export';
import { tf } from '@gibbs/agents/tf';
import { GibbsError, Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as exportMain } from '../src/commands/export.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'gibbs-export-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend();
});

const cli = (...args: string[]) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'packages/cli/src/main.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );

/** Battle's observation as battle-train's networks take it. */
const BATTLE = { view: { height: 13, width: 13, channels: 5 }, features: 24, actions: 21 };

/** Two rounds of battle-train (4 vs 4 on 16x16, 15 steps a round) with updates in both. */
function train(algo: string, net: string): string {
  const out = join(work, `${algo}-${net}`);
  const r = cli(
    'run',
    'battle-train',
    '--algo',
    algo,
    '--net',
    net,
    '--rounds',
    '2',
    '--steps',
    '30',
    '--map',
    '16',
    '--agents',
    '4',
    '--maxSteps',
    '15',
    '--checkpointEvery',
    '1',
    '--threads',
    '1',
    '--config',
    algo === 'mfq' ? '{"batchSize":16,"learningStarts":16}' : '{"batchSize":16}',
    '--out',
    out,
  );
  expect(r.status, r.stderr).toBe(0);
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  const updates = rows.map((l) => (JSON.parse(l).values.updates as number | undefined) ?? 0);
  expect(Math.max(...updates)).toBeGreaterThan(0);
  return out;
}

/** What a tfjs user writes: read the two files, load them with stock tfjs. */
async function stockLoad(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const weights = readFileSync(join(dir, json.weightsManifest[0].paths[0]));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
    }),
  );
}

/** Raw observations: view [n, 13, 13, 5], features [n, 24], mean action [n, 21]. */
function observations(n: number) {
  return randomBatch({ ...BATTLE, meanAction: true }, n, 21);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('gibbs export of a trained battle-train network', () => {
  it('mfq, population network: stock tfjs gives the Q-values of Gibbs', async () => {
    const run = train('mfq', 'population');
    const out = join(work, 'mfq-model');
    const r = cli('export', run, out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.spec).toMatchObject({ algo: 'mfq', net: 'population' });
    const model = await stockLoad(out);
    expect(model.inputNames).toEqual(['view', 'features', 'mean_action']);
    expect(model.outputNames).toEqual(['q']);
    const b = observations(64);
    const q = model.predict([
      tf.tensor4d(b.view, [b.n, 13, 13, 5]),
      tf.tensor2d(b.features, [b.n, 24]),
      tf.tensor2d(b.mean as Float32Array, [b.n, 21]),
    ]) as tf.Tensor;
    // Gibbs's acting path on the checkpoint, as battle-eval loads it.
    const { player } = await loadPlayer(run, BATTLE, new Rng(1));
    const want = (player as MFQ).qValues(b);
    const d = maxDiff(q.dataSync(), want);
    console.log(`export mfq population (trained): max |stock - gibbs| = ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-5 * Math.max(1, ...Array.from(want, Math.abs)));
    q.dispose();
    model.dispose();
    player.dispose();
  }, 180_000);

  it('mfac, mfrl network: stock tfjs gives the policy and critic of Gibbs', async () => {
    const run = train('mfac', 'mfrl');
    const out = join(work, 'mfac-model');
    const r = cli('export', run, out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/outputs logits \[21\], critic \[21\]/);
    const model = await stockLoad(out);
    const b = observations(32);
    const [logits, critic] = model.predict([
      tf.tensor4d(b.view, [b.n, 13, 13, 5]),
      tf.tensor2d(b.features, [b.n, 24]),
      tf.tensor2d(b.mean as Float32Array, [b.n, 21]),
    ]) as tf.Tensor[];
    const probs = tf.softmax(logits);
    const { player } = await loadPlayer(run, BATTLE, new Rng(1));
    const want = new Float32Array(b.n * 21);
    player.policyRows(b, 0, b.n, 1, want);
    const dp = maxDiff(probs.dataSync(), want);
    // The critic too, on nets.ts's network with the checkpoint's weights.
    const { topology, tensors } = await loadTensors(resolveCheckpoint(run).network, {});
    const spec = { algo: 'mfac' as const, net: 'mfrl' as const, shape: topology.shape };
    const net = gibbsNetwork(spec, tensors);
    const g = gibbsOutputs(spec, net, b);
    const dl = maxDiff(logits.dataSync(), g.logits);
    const dc = maxDiff(critic.dataSync(), g.critic);
    console.log(
      `export mfac mfrl (trained): max |stock - gibbs| policy ${dp.toExponential(2)}, logits ${dl.toExponential(2)}, critic ${dc.toExponential(2)}`,
    );
    expect(dp).toBeLessThan(1e-6);
    expect(dl).toBeLessThan(1e-5 * Math.max(1, ...Array.from(g.logits, Math.abs)));
    expect(dc).toBeLessThan(1e-5 * Math.max(1, ...Array.from(g.critic, Math.abs)));
    tf.dispose([logits, critic, probs, ...Object.values(tensors)]);
    model.dispose();
    net.dispose();
    player.dispose();
  }, 180_000);
});

describe('gibbs export with bad input: one line naming the field, exit 2', () => {
  const oneLine = (r: ReturnType<typeof cli>) => {
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    return lines[0];
  };

  it('a checkpoint that does not exist, a directory that is not a checkpoint (CLI process)', () => {
    const missing = join(work, 'no-such-run');
    expect(oneLine(cli('export', missing, join(work, 'o1')))).toBe(
      `gibbs: checkpoint: got ${JSON.stringify(missing)}, expected an existing file or directory`,
    );
    const notCk = join(work, 'not-a-checkpoint');
    mkdirSync(notCk, { recursive: true });
    writeFileSync(join(notCk, 'notes.txt'), 'hello');
    expect(oneLine(cli('export', notCk, join(work, 'o2')))).toMatch(
      /^gibbs: checkpoint: got ".*not-a-checkpoint", expected a run directory with checkpoints\/latest\.json, a round-NNNNNN directory or a model\.json$/,
    );
  }, 120_000);

  it('a broken model.json, missing arguments, an unknown option (in process)', async () => {
    const fails = async (argv: string[], re: RegExp) => {
      const err = await exportMain(argv).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GibbsError);
      const { message } = err as GibbsError;
      expect(message).not.toContain('\n');
      expect(message).toMatch(re);
    };
    const badJson = join(work, 'bad-json');
    mkdirSync(badJson, { recursive: true });
    writeFileSync(join(badJson, 'model.json'), '{"modelTopology": 3}');
    await fails(
      [badJson, join(work, 'o3')],
      /^checkpoint .*bad-json\/model\.json: (modelTopology|weightsManifest): .*\(expected a tfjs model\.json/,
    );
    await fails(
      [badJson],
      /^<dir>: got undefined, expected the directory to write model\.json and weights\.bin into/,
    );
    await fails([], /^<checkpoint>: got undefined, expected /);
    await fails(
      [badJson, join(work, 'o4'), '--frobnicate'],
      /^option: got "--frobnicate", expected one of --actor-only, --overwrite/,
    );
    await fails([badJson, join(work, 'o5'), 'extra'], /^arguments: got array\(3\), expected two/);
  });
});
