/**
 * Observation windows for grid worlds (used by Gather and Pursuit). The world keeps one padded,
 * channels-last picture of itself, `layer`, updated cell by cell as things move, die or lose hp;
 * an agent's view is then a copy of the window around it, row by row, masked to a circle as
 * MAgent's CircleRange does (cells with dx^2 + dy^2 <= r^2). The padding (as wide as the widest
 * view) reads as obstacle, so a window never needs a bounds check. Nothing is allocated per step.
 *
 * When the layer lives in the same Float32Array as the observations (`host`), a row is copied
 * with `copyWithin` (a memmove, no allocation), about 1.4x faster than an element loop.
 */

/** Half-width of the circle's row at each dy in [-r, r]: floor(sqrt(r^2 - dy^2)). */
export function circleSpans(radius: number): Int32Array {
  const spans = new Int32Array(2 * radius + 1);
  for (let dy = -radius; dy <= radius; dy++)
    spans[dy + radius] = Math.floor(Math.sqrt(radius * radius - dy * dy) + 1e-9);
  return spans;
}

/** The offsets (dx, dy) of a circle of radius r, row-major (dy, then dx ascending). */
export function circleOffsets(radius: number, withCentre: boolean): Int32Array {
  const out: number[] = [];
  const r2 = radius * radius;
  const R = Math.floor(radius);
  for (let dy = -R; dy <= R; dy++)
    for (let dx = -R; dx <= R; dx++)
      if (dx * dx + dy * dy <= r2 + 1e-9 && (withCentre || dx !== 0 || dy !== 0)) out.push(dx, dy);
  return Int32Array.from(out);
}

/**
 * The live slots ordered by row (a counting sort on y, O(n + height)), written into `order`; returns
 * how many. Copying views in this order reads the layer row band by row band instead of at random:
 * about 1.6x faster on a 1000 x 1000 map, where the layer does not fit in cache.
 */
export function rowOrder(
  y: Int32Array,
  alive: Uint8Array | null,
  height: number,
  counts: Int32Array,
  order: Int32Array,
): number {
  counts.fill(0, 0, height + 1);
  const n = y.length;
  for (let i = 0; i < n; i++) if (!alive || alive[i]) counts[y[i] + 1]++;
  for (let r = 0; r < height; r++) counts[r + 1] += counts[r];
  const live = counts[height];
  for (let i = 0; i < n; i++) if (!alive || alive[i]) order[counts[y[i]]++] = i;
  return live;
}

export class ViewLayer {
  /** (height + 2 pad) x (width + 2 pad) x channels, channels last. */
  readonly data: Float32Array;
  readonly stride: number;
  /** Float32Array the layer lives in (at `hostOffset`), or null when it has its own. */
  readonly host: Float32Array | null;
  readonly hostOffset: number;

  /** Floats a layer of these dimensions takes (to size a host buffer). */
  static size(width: number, height: number, channels: number, pad: number): number {
    return (width + 2 * pad) * (height + 2 * pad) * channels;
  }

  constructor(
    readonly width: number,
    readonly height: number,
    readonly channels: number,
    readonly pad: number,
    /** Channel set to 1 on the padding (cells off the map). */
    readonly obstacleChannel: number,
    host?: { buffer: Float32Array; offset: number },
  ) {
    this.stride = width + 2 * pad;
    const size = ViewLayer.size(width, height, channels, pad);
    this.host = host?.buffer ?? null;
    this.hostOffset = host?.offset ?? 0;
    this.data = host
      ? host.buffer.subarray(host.offset, host.offset + size)
      : new Float32Array(size);
    this.clear();
  }

  /** Everything 0 on the map, obstacle 1 on the padding. */
  clear(): void {
    const { data, channels, stride, pad, width, height, obstacleChannel } = this;
    data.fill(0);
    const rows = height + 2 * pad;
    for (let y = 0; y < rows; y++)
      for (let x = 0; x < stride; x++)
        if (y < pad || y >= pad + height || x < pad || x >= pad + width)
          data[(y * stride + x) * channels + obstacleChannel] = 1;
  }

  /** Index of channel 0 of map cell (x, y). */
  at(x: number, y: number): number {
    return ((y + this.pad) * this.stride + x + this.pad) * this.channels;
  }

  set(x: number, y: number, channel: number, value: number): void {
    this.data[this.at(x, y) + channel] = value;
  }

  /**
   * Write the (2r+1) x (2r+1) x channels window centred on (x, y) into `out` at `offset`, zero
   * outside the circle given by `spans` (circleSpans(r)).
   */
  window(out: Float32Array, offset: number, x: number, y: number, spans: Int32Array): void {
    const r = (spans.length - 1) >> 1;
    const C = this.channels;
    let o = offset;
    if (out === this.host) {
      for (let dy = -r; dy <= r; dy++) {
        const half = spans[dy + r];
        const lead = (r - half) * C;
        const span = (2 * half + 1) * C;
        if (lead > 0) out.fill(0, o, o + lead);
        o += lead;
        const src = this.hostOffset + this.at(x - half, y + dy);
        out.copyWithin(o, src, src + span);
        o += span;
        if (lead > 0) out.fill(0, o, o + lead);
        o += lead;
      }
      return;
    }
    const data = this.data;
    for (let dy = -r; dy <= r; dy++) {
      const half = spans[dy + r];
      const lead = (r - half) * C;
      const span = (2 * half + 1) * C;
      for (let k = 0; k < lead; k++) out[o++] = 0;
      let src = this.at(x - half, y + dy);
      for (let k = 0; k < span; k++) out[o++] = data[src++];
      for (let k = 0; k < lead; k++) out[o++] = 0;
    }
  }
}
