/**
 * Issue 12, item 3: Gibbs networks as stock tfjs LayersModels (export.ts, export-files.ts). Every
 * algorithm on both networks, freshly initialised and with every weight (biases too) randomised,
 * written as model.json + weights.bin and loaded back with stock `tf.loadLayersModel` (from
 * memory, and over HTTP as a browser loads it), gives Gibbs's Q-values, logits and critic on the
 * raw observation; the population network's encoder as standard layers equals `encodeView`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbsError, Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveNetwork } from '../src/checkpoint.ts';
import {
  buildLayersModel,
  type ExportSpec,
  exportInputs,
  gibbsOutputs,
  isActorCritic,
  maxAbs,
  maxAbsDiff,
  type NamedOutputs,
  randomBatch,
  stockOutputs,
} from '../src/export.ts';
import { exportCheckpoint, loadExportedModel } from '../src/export-files.ts';
import {
  ActorCriticNetwork,
  encodeView,
  NETS,
  type NetKind,
  type NetShape,
  QNetwork,
  viewEncoding,
} from '../src/nets.ts';
import { ALGOS, type Algo } from '../src/policy.ts';
import { createLearner } from '../src/selfplay.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'gibbs-export-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  await initBackend();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Battle's observation: 13x13x5 view, 24 features, 21 actions. */
const BATTLE = { view: { height: 13, width: 13, channels: 5 }, features: 24, actions: 21 };
const meanField = (algo: Algo) => algo === 'mfq' || algo === 'mfac';
const specOf = (
  algo: Algo,
  net: NetKind,
  base: Omit<NetShape, 'meanAction'> = BATTLE,
): ExportSpec => ({
  algo,
  net,
  shape: { ...base, meanAction: meanField(algo) },
});

function network(spec: ExportSpec, seed: number, randomise: boolean) {
  const rng = new Rng(seed);
  const n = isActorCritic(spec.algo)
    ? new ActorCriticNetwork(spec.shape, rng, spec.net)
    : new QNetwork(spec.shape, rng, spec.net);
  if (randomise) {
    const flat = n.params.flat();
    for (let i = 0; i < flat.length; i++) flat[i] = (2 * rng.float() - 1) * 0.25;
    n.params.setFlat(flat);
  }
  return n;
}

/**
 * The model's files as a user has them (JSON text + bytes), then the stock loader on them:
 * `tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData }))`.
 */
async function throughFiles(
  model: tf.LayersModel,
): Promise<{ json: string; loaded: tf.LayersModel }> {
  let json = '';
  let bytes = new ArrayBuffer(0);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      json = JSON.stringify({
        format: a.format,
        generatedBy: a.generatedBy,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      });
      bytes = a.weightData as ArrayBuffer;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  const parsed = JSON.parse(json);
  const loaded = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: parsed.modelTopology,
      weightSpecs: parsed.weightsManifest[0].weights,
      weightData: bytes.slice(0),
    }),
  );
  return { json, loaded };
}

/** The tolerance: float32 sums in another order (im2col matMul vs Conv2D, mean vs sum/area). */
function expectClose(gibbs: NamedOutputs, stock: NamedOutputs, tol = 1e-5) {
  expect(Object.keys(stock)).toEqual(Object.keys(gibbs));
  const d = maxAbsDiff(gibbs, stock);
  expect(d).toBeLessThanOrEqual(tol * Math.max(1, maxAbs(gibbs)));
  return d;
}

const measured: string[] = [];
afterAll(() => {
  if (measured.length) console.log(`export: max |stock - gibbs|\n  ${measured.join('\n  ')}`);
});

describe('stock tfjs loads every Gibbs network and computes the same outputs', () => {
  for (const net of NETS)
    for (const algo of ALGOS)
      it(`${algo} on the ${net} network (Battle's shape), fresh and randomised`, async () => {
        const spec = specOf(algo, net);
        for (const randomise of [false, true]) {
          const gibbs = network(spec, 7, randomise);
          const model = buildLayersModel(spec, gibbs.params.named());
          const { json, loaded } = await throughFiles(model);
          // A real Keras-style topology: standard layers only, inputs and outputs by name.
          const top = JSON.parse(json).modelTopology;
          expect(JSON.parse(json).format).toBe('layers-model');
          expect(top.class_name).toBe('Model');
          const classes = new Set<string>(
            top.config.layers.map((l: { class_name: string }) => l.class_name),
          );
          for (const c of classes)
            expect([
              'InputLayer',
              'Conv2D',
              'Cropping2D',
              'GlobalAveragePooling2D',
              'Flatten',
              'Concatenate',
              'Dense',
            ]).toContain(c);
          expect(loaded.inputNames).toEqual(exportInputs(spec).map((d) => d.name));
          expect(loaded.outputNames).toEqual(isActorCritic(algo) ? ['logits', 'critic'] : ['q']);
          const batch = randomBatch(spec.shape, 48, 3);
          const want = gibbsOutputs(spec, gibbs, batch);
          const d = expectClose(want, stockOutputs(spec, loaded, batch));
          measured.push(
            `${algo} ${net} ${randomise ? 'randomised' : 'fresh'}: ${d.toExponential(2)} (outputs up to ${maxAbs(want).toFixed(2)})`,
          );
          // The trainable weights are the network's own: nothing added by the export.
          const weights = loaded.getWeights().reduce((n, w) => n + w.size, 0);
          expect(weights).toBe(gibbs.params.vars.reduce((n, v) => n + v.size, 0));
          model.dispose();
          loaded.dispose();
          gibbs.dispose();
        }
      });

  it('groups without a view (features only), both networks', async () => {
    const flat = { view: null, features: 7, actions: 4 };
    for (const net of NETS)
      for (const algo of ['mfq', 'ac'] as const) {
        const spec = specOf(algo, net, flat);
        const gibbs = network(spec, 11, true);
        const { loaded } = await throughFiles(buildLayersModel(spec, gibbs.params.named()));
        expect(loaded.inputNames).toEqual(
          algo === 'mfq' ? ['features', 'mean_action'] : ['features'],
        );
        const batch = randomBatch(spec.shape, 16, 4);
        expectClose(gibbsOutputs(spec, gibbs, batch), stockOutputs(spec, loaded, batch));
        loaded.dispose();
        gibbs.dispose();
      }
  });

  it('--actor-only: the actor alone, without the mean action, gives the same logits', async () => {
    for (const net of NETS) {
      const spec = specOf('mfac', net);
      const gibbs = network(spec, 5, true);
      const { loaded } = await throughFiles(
        buildLayersModel(spec, gibbs.params.named(), { actorOnly: true }),
      );
      expect(loaded.inputNames).toEqual(['view', 'features']);
      expect(loaded.outputNames).toEqual(['logits']);
      const batch = randomBatch(spec.shape, 16, 6);
      const want = gibbsOutputs(spec, gibbs, batch, { actorOnly: true });
      expectClose(want, stockOutputs(spec, loaded, batch, { actorOnly: true }));
      loaded.dispose();
      gibbs.dispose();
    }
    const q = specOf('mfq', 'population');
    const gq = network(q, 1, false);
    expect(() => buildLayersModel(q, gq.params.named(), { actorOnly: true })).toThrow(
      /--actor-only: got "mfq", expected an actor-critic network/,
    );
    gq.dispose();
  });

  it('weight names in the file are the layer names, whatever else the process has built', async () => {
    const spec = specOf('mfq', 'population');
    const gibbs = network(spec, 2, true);
    const names: string[][] = [];
    for (let k = 0; k < 2; k++) {
      const m = buildLayersModel(spec, gibbs.params.named());
      const { json, loaded } = await throughFiles(m);
      names.push(JSON.parse(json).weightsManifest[0].weights.map((w: { name: string }) => w.name));
      m.dispose();
      loaded.dispose();
    }
    expect(names[1]).toEqual(names[0]);
    expect(names[0]).toContain('torso_enc1/kernel');
    expect(names[0]).toContain('q/bias');
    gibbs.dispose();
  });
});

describe("the population encoder as standard layers equals nets.ts's encodeView", () => {
  const views = [
    { height: 13, width: 13, channels: 5 }, // battle
    { height: 15, width: 15, channels: 5 }, // gather
    { height: 5, width: 5, channels: 2 },
    { height: 7, width: 9, channels: 3 },
    { height: 6, width: 8, channels: 1 },
    { height: 3, width: 3, channels: 4 },
    { height: 21, width: 11, channels: 2 },
  ];
  for (const view of views)
    it(`view ${view.height}x${view.width}x${view.channels}`, async () => {
      const spec = specOf('il', 'population', { view, features: 3, actions: 5 });
      const gibbs = network(spec, 9, true);
      const { loaded } = await throughFiles(buildLayersModel(spec, gibbs.params.named()));
      const batch = randomBatch(spec.shape, 12, 8);
      // The encoded row (centre crop, block means, features) in encodeView's order.
      const enc = viewEncoding(view);
      const want = new Float32Array(batch.n * (enc.size + 3));
      encodeView(spec.shape as NetShape, enc, batch, want);
      const sub = tf.model({
        inputs: loaded.inputs,
        outputs: loaded.getLayer('torso_encoded').output,
      });
      const got = stockOutputs(spec, sub as tf.LayersModel, batch);
      const encoded = Object.values(got)[0];
      expect(encoded.length).toBe(want.length);
      let d = 0;
      for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(want[i] - encoded[i]));
      expect(d).toBeLessThan(1e-6);
      expectClose(gibbsOutputs(spec, gibbs, batch), stockOutputs(spec, loaded, batch));
      loaded.dispose();
      gibbs.dispose();
    });
});

describe('weights that do not fit are GibbsErrors naming the weight', () => {
  it('a missing, a misshapen and an unused weight', () => {
    const spec = specOf('mfq', 'mfrl');
    const gibbs = network(spec, 3, false);
    const named = gibbs.params.named();
    const { 'q/out/b': _drop, ...missing } = named;
    expect(() => buildLayersModel(spec, missing, { source: 'x/model.json' })).toThrow(
      /x\/model\.json: weight "q\/out\/b" is missing, the network needs \[21\]/,
    );
    const bad = { ...named, 'torso/conv1/w': tf.zeros([9, 32]) };
    expect(() => buildLayersModel(spec, bad)).toThrow(
      /weight "torso\/conv1\/w" is \[9,32\], the network needs \[45,32\]/,
    );
    const extra = { ...named, 'torso/conv3/w': tf.zeros([3]) };
    expect(() => buildLayersModel(spec, extra)).toThrow(/weight "torso\/conv3\/w" is not part of/);
    // The population network's weights are not the mfrl network's.
    expect(() => buildLayersModel({ ...spec, net: 'population' }, named)).toThrow(GibbsError);
    const shapeless = { ...spec, shape: { ...spec.shape, actions: 0 } };
    expect(() => buildLayersModel(shapeless, named)).toThrow(/network shape\.actions/);
    tf.dispose([bad['torso/conv1/w'], extra['torso/conv3/w']]);
    gibbs.dispose();
  });
});

describe('exportCheckpoint: a checkpoint to files any tfjs program loads', () => {
  it('writes model.json + weights.bin, checked; tf.loadLayersModel(url) over HTTP loads them', async () => {
    const dir = tmp();
    const learner = createLearner('mfac', BATTLE, { net: 'mfrl', memoryCapacity: 2 }, new Rng(4));
    const flat = learner.policyParams.flat();
    const rng = new Rng(5);
    for (let i = 0; i < flat.length; i++) flat[i] += (2 * rng.float() - 1) * 0.05;
    learner.policyParams.setFlat(flat);
    const ck = join(dir, 'ck', 'round-000003', 'learner');
    await saveNetwork(ck, learner, learner.policyParams, 'learner');
    const out = join(dir, 'model');
    const report = await exportCheckpoint(join(dir, 'ck', 'round-000003'), out);
    expect(report.maxAbsDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, report.maxAbsOutput));
    expect(report.inputs.map((d) => d.name)).toEqual(['view', 'features', 'mean_action']);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.userDefinedMetadata.gibbs).toMatchObject({
      format: 'gibbs-export/1',
      algo: 'mfac',
      net: 'mfrl',
      role: 'learner',
      round: 3,
    });
    // As a browser loads it: model.json and weights.bin over HTTP.
    const server = createServer((req, res) => {
      const name = (req.url ?? '').replace(/^\/m\//, '');
      if (name !== 'model.json' && name !== 'weights.bin') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end(readFileSync(join(out, name)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const viaUrl = await tf.loadLayersModel(`http://127.0.0.1:${port}/m/model.json`);
      const viaFiles = await loadExportedModel(out);
      const spec = report.spec;
      const gibbs = network(spec, 1, false);
      tf.tidy(() => {
        for (let i = 0; i < gibbs.params.vars.length; i++)
          gibbs.params.vars[i].assign(learner.policyParams.vars[i]);
      });
      const batch = randomBatch(spec.shape, 32, 9);
      const want = gibbsOutputs(spec, gibbs, batch);
      expectClose(want, stockOutputs(spec, viaUrl, batch));
      expectClose(want, stockOutputs(spec, viaFiles, batch));
      expect(viaUrl.getUserDefinedMetadata()).toMatchObject({ gibbs: { algo: 'mfac' } });
      viaUrl.dispose();
      viaFiles.dispose();
      gibbs.dispose();
    } finally {
      server.close();
      learner.dispose();
    }
    // The export of an export, the optimizer's moments, a busy directory: one line each.
    await expect(exportCheckpoint(out, join(dir, 'again'))).rejects.toThrow(
      /model\.json: format: got "layers-model", expected a gibbs checkpoint/,
    );
    await expect(exportCheckpoint(join(dir, 'ck', 'round-000003'), out)).rejects.toThrow(
      /<dir>: got ".*model", expected a new or empty directory \(it holds model\.json, weights\.bin\)/,
    );
    const again = await exportCheckpoint(join(dir, 'ck', 'round-000003'), out, {
      overwrite: true,
    });
    expect(again.maxAbsDiff).toBe(report.maxAbsDiff);
    await expect(exportCheckpoint(ck, ck, { overwrite: true })).rejects.toThrow(
      /<dir>: got .*, expected a directory other than the checkpoint's own/,
    );
    writeFileSync(join(dir, 'file'), 'x');
    await expect(exportCheckpoint(ck, join(dir, 'file'))).rejects.toThrow(
      /<dir>: got .*file", expected a directory/,
    );
  });
});
