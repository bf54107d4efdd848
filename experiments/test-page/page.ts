/**
 * The browser side of battle.browser.test.ts: runs an experiment module through core's runtime
 * (startSimulation) in a Web Worker and hands back its metric lines, for the test to compare with
 * the same run in Node.
 */
import { metricLine, type RunStatus } from '@gibbs/core';
import { startSimulation } from '@gibbs/core/runtime';

async function run(opts: {
  module: string;
  seed: number;
  steps: number;
  params: Record<string, unknown>;
}): Promise<{ lines: string[]; status: RunStatus }> {
  const h = await startSimulation({ experiment: opts.module, worker: true, ...opts });
  const lines: string[] = [];
  h.metrics$.subscribe((batch) => {
    for (const r of batch) lines.push(metricLine(r));
  });
  await h.start();
  const status = await h.done;
  await h.dispose();
  return { lines, status };
}

Object.assign(window, { gibbsTest: { run } });
document.body.dataset.ready = 'true';
