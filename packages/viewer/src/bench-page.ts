/**
 * The viewer benchmark page (bench/viewer.bench.ts drives it): frames of N x N cells from a worker
 * drawn (a) by the viewer's one-texture path (GridView) and (b) by a plain 2D canvas
 * putImageData of the same frames through the same colour table. Both keep only the newest frame
 * and draw on animation frames; the page records how many frames it drew per second, how many it
 * dropped, and how far the frame it drew was behind the newest one produced.
 */
import { allocAgentsFrame, type RenderFrame } from '@gibbs/core';
import { GridView } from './grid-view.ts';
import { paintCells, paletteFor } from './palette.ts';

const LEGEND = ['empty', 'wall', 'red', 'blue'];
const GROUPS = ['red', 'blue'];
const stage = document.getElementById('stage') as HTMLElement;

export interface BenchResult {
  variant: string;
  size: number;
  seconds: number;
  drawn: number;
  fps: number;
  received: number;
  produced: number;
  dropped: number;
  /**
   * Largest (newest frame produced - frame taken), read when a frame is taken for drawing: 0 or 1
   * means the page is never more than one frame behind the producer.
   */
  maxBehind: number;
  meanBehind: number;
}

let view: GridView | null = null;

async function run(
  variant: 'texture' | 'putImageData',
  size: number,
  seconds: number,
  producerFps: number,
): Promise<BenchResult> {
  stage.replaceChildren();
  view?.destroy();
  view = null;
  const latest = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./bench-producer.ts', import.meta.url), { type: 'module' });
  let pending: { id: number; cells: Uint8Array } | null = null;
  let received = 0;
  let drawn = 0;
  let behindSum = 0;
  let maxBehind = 0;
  let measuring = false;
  const note = (id: number) => {
    if (!measuring) return;
    drawn++;
    const behind = Atomics.load(latest, 0) - id;
    behindSum += behind;
    maxBehind = Math.max(maxBehind, behind);
  };
  worker.onmessage = (ev: MessageEvent<{ id: number; cells: Uint8Array }>) => {
    if (measuring) received++;
    if (variant === 'texture') {
      const f: RenderFrame = {
        step: ev.data.id,
        episode: 0,
        width: size,
        height: size,
        cells: ev.data.cells,
        legend: LEGEND,
        groups: GROUPS,
        agents: allocAgentsFrame(0),
      };
      view!.show(f);
      return;
    }
    pending = ev.data;
  };
  let stop = () => {};
  if (variant === 'texture') {
    view = await GridView.create(stage, {
      preference: 'webgl',
      onDraw: (f) => note(f.step),
      onDrawn: () => worker.postMessage('want'),
    });
  } else {
    const canvas = document.createElement('canvas');
    canvas.className = 'plain';
    canvas.width = size;
    canvas.height = size;
    stage.appendChild(canvas);
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(size, size);
    const texels = new Uint32Array(img.data.buffer);
    const lut = paletteFor(LEGEND, GROUPS);
    let raf = 0;
    const loop = () => {
      const p = pending;
      if (p) {
        pending = null;
        note(p.id);
        paintCells(p.cells, lut, texels);
        ctx.putImageData(img, 0, 0);
        worker.postMessage('want');
      }
      raf = requestAnimationFrame(loop);
    };
    raf = requestAnimationFrame(loop);
    stop = () => cancelAnimationFrame(raf);
  }
  worker.postMessage({ size, fps: producerFps, latest });
  worker.postMessage('want');
  // Warm up (texture allocation, shader compilation), then measure.
  await new Promise((r) => setTimeout(r, 1000));
  const id0 = Atomics.load(latest, 0);
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const produced = Atomics.load(latest, 0) - id0;
  const elapsed = (performance.now() - t0) / 1000;
  worker.postMessage('stop');
  worker.terminate();
  stop();
  // Frames made while measuring that never reached the screen.
  const dropped = Math.max(0, produced - drawn);
  return {
    variant,
    size,
    seconds: elapsed,
    drawn,
    fps: drawn / elapsed,
    received,
    produced,
    dropped,
    maxBehind,
    meanBehind: drawn > 0 ? behindSum / drawn : 0,
  };
}

Object.assign(window, { runBench: run, benchReady: true, isolated: crossOriginIsolated });
