/**
 * The viewer's one-texture path against a plain canvas putImageData, in headless Chromium (pixi
 * on WebGL; SwiftShader here, so absolute numbers are low: compare the ratio). Frames of N x N
 * cells come from a worker at 60 per second; each variant keeps only the newest frame and draws on
 * animation frames. Also reported: frames dropped, and how far behind the producer the frame
 * taken for drawing was (at most one frame is the requirement).
 *
 *   pnpm bench viewer        (VIEWER_BENCH_SECONDS=N to measure longer)
 */
import { resolve } from 'node:path';
import { collectErrors, launchChromium } from '@gibbs/test-support/browser';
import { startViewerServer } from '@gibbs/viewer/server';
import type { BenchResult } from '../packages/viewer/src/bench-page.ts';
import { printTable, type Row, writeResult } from './lib.ts';

const SIZES = [256, 1024, 2048];
const SECONDS = Number(process.env.VIEWER_BENCH_SECONDS ?? 4);
const PRODUCER_FPS = 60;

const server = await startViewerServer({
  experiments: {},
  runsDir: resolve(process.cwd(), 'runs'),
});
const browser = await launchChromium();
const rows: Row[] = [];
const raw: BenchResult[] = [];
try {
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  const errors = collectErrors(page);
  await page.goto(`${server.url}bench.html`);
  await page.waitForFunction(
    () => (window as unknown as { benchReady?: boolean }).benchReady === true,
    null,
    { timeout: 120_000 },
  );
  const isolated = await page.evaluate(() => (window as unknown as { isolated: boolean }).isolated);
  if (!isolated)
    throw new Error('the bench page is not cross-origin isolated (no SharedArrayBuffer)');
  for (const size of SIZES) {
    const pair: Record<string, BenchResult> = {};
    for (const variant of ['palette', 'rgba', 'putImageData'] as const) {
      const r = await page.evaluate(
        ([v, s, secs, fps]) =>
          (
            window as unknown as {
              runBench: (v: string, s: number, secs: number, fps: number) => Promise<BenchResult>;
            }
          ).runBench(v, s, secs, fps),
        [variant, size, SECONDS, PRODUCER_FPS] as const,
      );
      raw.push(r);
      pair[variant] = r;
    }
    const t = pair.palette;
    const r = pair.rgba;
    const p = pair.putImageData;
    const trio = (k: 'dropped' | 'maxBehind' | 'maxHeld') => `${t[k]} / ${r[k]} / ${p[k]}`;
    rows.push({
      cells: `${size}x${size}`,
      'fps palette': Number(t.fps.toFixed(1)),
      'fps rgba': Number(r.fps.toFixed(1)),
      'fps putImageData': Number(p.fps.toFixed(1)),
      'draw ms palette': Number(t.drawMs.toFixed(2)),
      'draw ms rgba': Number(r.drawMs.toFixed(2)),
      'draw ms putImageData': Number(p.drawMs.toFixed(2)),
      'palette / putImageData draw ms': Number((t.drawMs / Math.max(p.drawMs, 1e-9)).toFixed(2)),
      dropped: trio('dropped'),
      'newer made (max)': trio('maxBehind'),
      'max held': trio('maxHeld'),
      'age ms': `${t.meanAgeMs.toFixed(0)} / ${r.meanAgeMs.toFixed(0)} / ${p.meanAgeMs.toFixed(0)}`,
    });
  }
  if (errors.length > 0) console.error(errors.join('\n'));
} finally {
  await browser.close();
  await server.close();
}
printTable(
  `viewer: one texture (cells coloured in a shader: palette; on the CPU: rgba) vs a 2D canvas putImageData; triples: palette / rgba / putImageData; producer ${PRODUCER_FPS} frames/s, ${SECONDS} s each; headless Chromium, WebGL on SwiftShader`,
  rows,
);
console.log(
  'fps: frames drawn per second through the page. draw ms: the draw work alone, in a tight loop.\n' +
    'max held: most frames ever waiting in the page (the requirement: never more than one; the\n' +
    'producer sends a frame only when asked, and then its newest). newer made: frames the producer\n' +
    'made after the one that arrived, while the main thread was busy drawing: dropped, never queued.\n' +
    'age ms: mean time from a frame being made to being taken for drawing (latency).',
);
console.log(
  `wrote ${writeResult('viewer', { producerFps: PRODUCER_FPS, seconds: SECONDS, rows, raw })}`,
);
