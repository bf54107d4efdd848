/**
 * The viewer benchmark page (bench/viewer.bench.ts drives it): frames of N x N cells from a worker
 * drawn (a) by the viewer's one-texture path (GridView), with the cells coloured in a shader from a
 * one-byte-per-cell texture ('palette') or on the CPU into an RGBA texture ('rgba'), and (b) by a
 * plain 2D canvas putImageData of the same frames through the same colour table. Both keep only the newest frame
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
  /** Frames made while measuring that never reached the screen. */
  dropped: number;
  /**
   * Largest (newest frame made - frame received), read as a frame arrives: frames made while the
   * main thread was busy (drawing, compositing) after the one it gets; those are dropped, not
   * queued (see maxHeld).
   */
  maxBehind: number;
  /** Most frames the page held undrawn at once (latest-value: 1). */
  maxHeld: number;
  /** Mean age of a frame when it is taken for drawing (ms since it was made). */
  meanAgeMs: number;
  /** Draw work per frame in a tight loop, without the compositor (ms; GPU finish included). */
  drawMs: number;
}

let view: GridView | null = null;

type Msg = { id: number; cells: Uint8Array; made: number };
const wallNow = () => performance.timeOrigin + performance.now();

function frameOf(size: number, id: number, cells: Uint8Array): RenderFrame {
  return {
    step: id,
    episode: 0,
    width: size,
    height: size,
    cells,
    legend: LEGEND,
    groups: GROUPS,
    agents: allocAgentsFrame(0),
  };
}

/** The draw work alone: N draws of changing frames back to back, GPU or raster work finished. */
function drawCost(size: number, draw: (cells: Uint8Array) => void): number {
  const frames = [0, 1, 2, 3].map((k) => new Uint8Array(size * size).map((_, i) => (i + k) % 4));
  for (let k = 0; k < 3; k++) draw(frames[k % 4]);
  const n = size >= 2048 ? 6 : 15;
  const t0 = performance.now();
  for (let k = 0; k < n; k++) draw(frames[k % 4]);
  return (performance.now() - t0) / n;
}

async function run(
  variant: 'palette' | 'rgba' | 'putImageData',
  size: number,
  seconds: number,
  producerFps: number,
): Promise<BenchResult> {
  stage.replaceChildren();
  view?.destroy();
  view = null;
  const latest = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./bench-producer.ts', import.meta.url), { type: 'module' });
  let pending: Msg | null = null;
  let received = 0;
  let drawn = 0;
  let maxBehind = 0;
  let held = 0;
  let maxHeld = 0;
  let ageSum = 0;
  let measuring = false;
  const made = new Map<number, number>();
  const taken = (id: number) => {
    held = 0;
    if (!measuring) return;
    drawn++;
    ageSum += wallNow() - (made.get(id) ?? wallNow());
    made.delete(id);
  };
  worker.onmessage = (ev: MessageEvent<Msg>) => {
    const m = ev.data;
    held++;
    if (measuring) {
      received++;
      maxBehind = Math.max(maxBehind, Atomics.load(latest, 0) - m.id);
      maxHeld = Math.max(maxHeld, held);
      made.set(m.id, m.made);
    }
    if (variant !== 'putImageData') view!.show(frameOf(size, m.id, m.cells));
    else pending = m;
  };
  let stop = () => {};
  let drawMs = 0;
  if (variant !== 'putImageData') {
    view = await GridView.create(stage, {
      preference: 'webgl',
      cells: variant,
      onDraw: (f) => taken(f.step),
      onDrawn: () => worker.postMessage('want'),
    });
    const v = view;
    const gl = (v.app.renderer as unknown as { gl?: WebGL2RenderingContext }).gl;
    v.app.ticker.stop();
    drawMs = drawCost(size, (cells) => {
      v.show(frameOf(size, 0, cells));
      (v as unknown as { tick(): void }).tick();
      v.app.render();
      gl?.finish();
    });
    v.app.ticker.start();
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
    drawMs = drawCost(size, (cells) => {
      paintCells(cells, lut, texels);
      ctx.putImageData(img, 0, 0);
      ctx.getImageData(0, 0, 1, 1);
    });
    let raf = 0;
    const loop = () => {
      const p = pending;
      if (p) {
        pending = null;
        taken(p.id);
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
  return {
    variant,
    size,
    seconds: elapsed,
    drawn,
    fps: drawn / elapsed,
    received,
    produced,
    dropped: Math.max(0, produced - drawn),
    maxBehind,
    maxHeld,
    meanAgeMs: drawn > 0 ? ageSum / drawn : 0,
    drawMs,
  };
}

Object.assign(window, { runBench: run, benchReady: true, isolated: crossOriginIsolated });
