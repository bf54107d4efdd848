/**
 * One worker thread of battle-threads.ts: wait for a job (GEN bumped), take chunks of it (agents
 * to observe, bands to attack or move) until none is left, report done through BUSY; stop when
 * STOP is set.
 */
import { workerData } from 'node:worker_threads';
import { CTRL, drainChunks, type KernelSource, kernelsOf, type Rewards } from './battle-kernels.ts';

const {
  ctrl: ctrlBuf,
  source,
  rewards,
} = workerData as {
  ctrl: SharedArrayBuffer;
  source: KernelSource;
  rewards: Rewards;
};
const ctrl = new Int32Array(ctrlBuf);
const kernels = kernelsOf(source, ctrl, rewards);

let seen = Atomics.load(ctrl, CTRL.GEN);
Atomics.add(ctrl, CTRL.READY, 1);
for (;;) {
  // Spin a little before sleeping: a futex wake-up costs tens of microseconds per step.
  for (let i = 0; i < 2000 && Atomics.load(ctrl, CTRL.GEN) === seen; i++);
  Atomics.wait(ctrl, CTRL.GEN, seen);
  seen = Atomics.load(ctrl, CTRL.GEN);
  if (Atomics.load(ctrl, CTRL.STOP) === 1) break;
  Atomics.add(ctrl, CTRL.BUSY, 1);
  drainChunks(ctrl, kernels);
  if (Atomics.sub(ctrl, CTRL.BUSY, 1) === 1) Atomics.notify(ctrl, CTRL.BUSY);
}
