/**
 * Pictures and videos of the stage. In the page: a PNG snapshot of the canvas, and a WebM of the
 * canvas as it plays (MediaRecorder over `canvas.captureStream`: what is seen, in real time). For
 * `gibbs video`: a replay encoded frame by frame with WebCodecs at a fixed frame rate, each frame
 * stamped i/fps however long it took to draw (software GL may draw a big grid at a few frames per
 * second), muxed by webm.ts.
 */
import type { GridView } from './grid-view.ts';
import { muxWebm, type WebmCodec, type WebmFrame } from './webm.ts';

/** `gibbs-<experiment>-<step>`: the download name of a snapshot or a recording, sans extension. */
export function exportName(experiment: string, step: number): string {
  const safe = experiment.replace(/[^A-Za-z0-9._-]+/g, '_') || 'run';
  return `gibbs-${safe}-${step}`;
}

/** Offer `blob` as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** The canvas as a PNG, at its pixel size. */
export function snapshotPng(view: GridView): Promise<Blob> {
  // Rendered now and read in the same task: a WebGL canvas keeps its drawing buffer until then.
  const canvas = view.renderNow();
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded as PNG'))),
      'image/png',
    ),
  );
}

/** Container and codec MediaRecorder is asked for, best first. */
const RECORDER_TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

/** About 0.1 bit per pixel per frame: sharp cell edges at a modest size. */
const bitsPerSecond = (w: number, h: number, fps: number) =>
  Math.round(Math.min(40e6, Math.max(1e6, w * h * fps * 0.1)));

/** A recording of a canvas as it changes, to WebM, until `stop`. */
export class CanvasRecording {
  private readonly chunks: Blob[] = [];
  private readonly recorder: MediaRecorder;
  private readonly started = performance.now();
  private failure: string | null = null;

  private constructor(
    readonly canvas: HTMLCanvasElement,
    readonly mimeType: string,
    fps: number,
  ) {
    const stream = canvas.captureStream(fps);
    this.recorder = new MediaRecorder(stream, {
      mimeType,
      videoBitsPerSecond: bitsPerSecond(canvas.width, canvas.height, fps),
    });
    this.recorder.ondataavailable = (e) => {
      if (e.data.size > 0) this.chunks.push(e.data);
    };
    this.recorder.onerror = (e) => {
      this.failure = (e as ErrorEvent).message || 'the recorder failed';
    };
    // Data every second: a long recording is not held by the encoder alone.
    this.recorder.start(1000);
  }

  /** Start recording `canvas` at up to `fps` frames per second; throws where the page cannot. */
  static start(canvas: HTMLCanvasElement, fps = 30): CanvasRecording {
    if (typeof MediaRecorder === 'undefined' || typeof canvas.captureStream !== 'function')
      throw new Error('this browser cannot record a canvas (no MediaRecorder or captureStream)');
    const type = RECORDER_TYPES.find((t) => MediaRecorder.isTypeSupported(t));
    if (!type) throw new Error('this browser cannot record WebM video');
    return new CanvasRecording(canvas, type, fps);
  }

  /** Seconds since the start. */
  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Stop and give the WebM. */
  stop(): Promise<Blob> {
    return new Promise((resolve, reject) => {
      const done = () => {
        for (const t of this.recorder.stream.getTracks()) t.stop();
        if (this.failure) reject(new Error(this.failure));
        else resolve(new Blob(this.chunks, { type: 'video/webm' }));
      };
      if (this.recorder.state === 'inactive') return done();
      this.recorder.addEventListener('stop', done, { once: true });
      this.recorder.stop();
    });
  }
}

export interface EncodeReplayOptions {
  /** Replay frame indices, in order: one video frame each. */
  indices: readonly number[];
  fps: number;
  /** Bits per second; default about 0.1 bit per pixel per frame. */
  bitrate?: number;
  /** A key frame every this many frames (default: every 2 s of video). */
  keyEvery?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EncodedVideo {
  bytes: Uint8Array;
  codec: WebmCodec;
  width: number;
  height: number;
  frames: number;
}

/** WebCodecs codec strings, best first (VP9 profile 0, 8 bit; then VP8). */
const ENCODERS: readonly { codec: string; webm: WebmCodec }[] = [
  { codec: 'vp09.00.10.08', webm: 'V_VP9' },
  { codec: 'vp8', webm: 'V_VP8' },
];

/**
 * Encode frames `indices` of a replay: each is shown with `show(index)` (the replay's seek, which
 * hands the frame to the view), rendered at once, and encoded with timestamp i/fps.
 */
export async function encodeReplay(
  view: GridView,
  show: (index: number) => void,
  opts: EncodeReplayOptions,
): Promise<EncodedVideo> {
  if (typeof VideoEncoder === 'undefined')
    throw new Error('this browser has no WebCodecs VideoEncoder (it needs a secure context)');
  const { width, height } = view.renderNow();
  if (width === 0 || height === 0) throw new Error('the stage has no size to record');
  const fps = opts.fps;
  const bitrate = opts.bitrate ?? bitsPerSecond(width, height, fps);
  let chosen: (typeof ENCODERS)[number] | null = null;
  for (const e of ENCODERS) {
    const ok = await VideoEncoder.isConfigSupported({ codec: e.codec, width, height, bitrate });
    if (ok.supported) {
      chosen = e;
      break;
    }
  }
  if (!chosen) throw new Error(`no VP9 or VP8 encoder for ${width}x${height} in this browser`);
  const frames: WebmFrame[] = [];
  let failure: unknown = null;
  const encoder = new VideoEncoder({
    output: (chunk) => {
      const data = new Uint8Array(chunk.byteLength);
      chunk.copyTo(data);
      frames.push({ data, timestampUs: chunk.timestamp, key: chunk.type === 'key' });
    },
    error: (e) => {
      failure = e;
    },
  });
  encoder.configure({
    codec: chosen.codec,
    width,
    height,
    bitrate,
    framerate: fps,
    latencyMode: 'quality',
  });
  const keyEvery = opts.keyEvery ?? Math.max(1, Math.round(2 * fps));
  const total = opts.indices.length;
  try {
    for (let k = 0; k < total; k++) {
      if (failure) throw failure;
      show(opts.indices[k]);
      const canvas = view.renderNow();
      // Read in the task that rendered it (the WebGL drawing buffer is not kept after).
      const frame = new VideoFrame(canvas, {
        timestamp: Math.round((k * 1e6) / fps),
        duration: Math.round(1e6 / fps),
      });
      encoder.encode(frame, { keyFrame: k % keyEvery === 0 });
      frame.close();
      // Back-pressure: keep a few frames in the encoder, not the whole replay.
      while (encoder.encodeQueueSize > 4 && !failure) {
        await new Promise<void>((r) => {
          encoder.addEventListener('dequeue', () => r(), { once: true });
          setTimeout(r, 50);
        });
      }
      opts.onProgress?.(k + 1, total);
    }
    await encoder.flush();
  } finally {
    if (encoder.state !== 'closed') encoder.close();
  }
  if (failure) throw failure;
  frames.sort((a, b) => a.timestampUs - b.timestampUs);
  const bytes = muxWebm({ codec: chosen.webm, width, height, fps }, frames);
  return { bytes, codec: chosen.webm, width, height, frames: frames.length };
}

/** Base64 of `bytes[offset, offset + length)`, for handing a video out of the page in pieces. */
export function base64Of(bytes: Uint8Array, offset: number, length: number): string {
  const part = bytes.subarray(offset, Math.min(bytes.length, offset + length));
  let s = '';
  for (let i = 0; i < part.length; i += 0x8000)
    s += String.fromCharCode(...part.subarray(i, i + 0x8000));
  return btoa(s);
}
