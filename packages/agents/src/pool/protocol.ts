/**
 * The messages between a ThreadPool (main thread) and its workers. Batches travel as typed arrays
 * on shared memory (SharedArrayBuffer: the worker reads the rows in place and writes its policies
 * in place); weights and gradients travel as copies / transferred buffers.
 */

import type { NetShape, ObsBatch } from '../nets.ts';
import type { Algo, UpdateBatch } from '../policy.ts';

export type Request =
  | { op: 'init'; backend: string | undefined; wasmPaths: string | undefined }
  | { op: 'create'; key: string; algo: Algo; shape: NetShape; config: Record<string, unknown> }
  | { op: 'weights'; key: string; sets: Record<string, Float32Array> }
  | {
      op: 'policy';
      key: string;
      obs: ObsBatch;
      lo: number;
      hi: number;
      temperature: number;
      probs: Float32Array;
    }
  | { op: 'gradient'; key: string; u: UpdateBatch; lo: number; hi: number; temperature: number }
  | { op: 'dispose'; key: string };

export interface GradientReply {
  grad: Float32Array;
  loss: number;
  qSum: number;
  td: Float32Array | null;
}

export type Reply =
  | { id: number; ok: true; value: unknown }
  | {
      id: number;
      ok: false;
      error: { name: string; message: string; field?: string; value?: unknown; expected?: string };
    };
