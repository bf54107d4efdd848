/**
 * Checkpoint networks read back: random model.json headers give a GibbsError naming the file (never
 * a TypeError from a header trusted as typed), and weights that are not finite are refused even
 * when their checksum matches.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbsError } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, loadTensors, saveTensors } from '../src/checkpoint.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gibbs-ckfuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function gibbsOrValueAsync<T>(f: () => Promise<T>): Promise<T | GibbsError> {
  try {
    return await f();
  } catch (err) {
    if (!(err instanceof GibbsError)) throw err;
    expect(err.message).not.toContain('\n');
    return err;
  }
}

describe('checkpoint networks', () => {
  it('model.json: random headers are refused with a GibbsError, never a TypeError', async () => {
    const dir = join(tmp, 'model');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(8));
    const header = fc.record(
      {
        format: fc.oneof(fc.string(), fc.constant(CHECKPOINT_FORMAT)),
        modelTopology: fc.oneof(
          fc.constant(null),
          fc.jsonValue(),
          fc.record({ format: fc.constant(CHECKPOINT_FORMAT), algo: fc.constant('mfq') }),
        ),
        weightsManifest: fc.oneof(
          fc.jsonValue(),
          fc.constant([
            { paths: ['weights.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] },
          ]),
          fc.constant([
            { paths: ['weights.bin'], weights: [{ name: 'w', shape: [2], dtype: 'x' }] },
          ]),
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(header, async (json) => {
        writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
        const r = await gibbsOrValueAsync(() => loadTensors(dir, {}));
        if (!(r instanceof GibbsError)) tf.dispose(r.tensors);
      }),
      { numRuns: 300 },
    );
  });

  it('weights that are not finite are refused on load (the checksum alone does not catch them)', async () => {
    const dir = join(tmp, 'nan-weights');
    const topology = {
      format: CHECKPOINT_FORMAT,
      algo: 'mfq' as const,
      role: 'learner',
      shape: {} as never,
      config: {},
    };
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const w = tf.tensor1d([1, bad, 3]);
      await saveTensors(dir, { w }, topology);
      w.dispose();
      await expect(loadTensors(dir, {})).rejects.toThrow(
        new RegExp(`weight "w"\\[1\\] is ${bad}, expected finite weights`),
      );
    }
    const ok = tf.tensor1d([1, 2, 3]);
    await saveTensors(dir, { w: ok }, topology);
    ok.dispose();
    const r = await loadTensors(dir, {});
    expect(Array.from(r.tensors.w.dataSync())).toEqual([1, 2, 3]);
    tf.dispose(r.tensors);
  });
});
