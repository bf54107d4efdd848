/**
 * Benchmark producer (a module worker): makes grid frames of one size at a fixed rate and writes
 * the id of its newest into shared memory (so the page can tell how far behind it draws). Like the
 * runtime, it sends a frame only when the page asks for one ('want'), and then the newest: a slow
 * page gets fewer, newer frames, never a queue. Buffers move (transfer), no copy.
 */
interface Start {
  size: number;
  fps: number;
  latest: Int32Array;
}

let timer: ReturnType<typeof setInterval> | null = null;
let newest: { id: number; cells: Uint8Array; made: number } | null = null;
let wanted = false;

function send(): void {
  if (!wanted || !newest) return;
  wanted = false;
  const f = newest;
  newest = null;
  (self as unknown as Worker).postMessage(f, [f.cells.buffer]);
}

self.onmessage = (ev: MessageEvent<Start | 'stop' | 'want'>) => {
  if (ev.data === 'want') {
    wanted = true;
    send();
    return;
  }
  if (timer) clearInterval(timer);
  timer = null;
  if (ev.data === 'stop') return;
  const { size, fps, latest } = ev.data;
  const n = size * size;
  // A few distinct frames to cycle through: bands that move, over a noise floor.
  const base: Uint8Array[] = [];
  let s = 12345;
  for (let k = 0; k < 4; k++) {
    const cells = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const y = Math.floor(i / size);
      cells[i] = ((y + k * 8) >> 4) % 2 === 0 ? 1 + (s >>> 30) : 0;
    }
    base.push(cells);
  }
  let id = 0;
  timer = setInterval(() => {
    id++;
    // The frame replaced here, never sent, is a dropped frame.
    // `made` on the page's clock: both share the wall clock through timeOrigin.
    newest = {
      id,
      cells: base[id % base.length].slice(),
      made: performance.timeOrigin + performance.now(),
    };
    Atomics.store(latest, 0, id);
    send();
  }, 1000 / fps);
};
