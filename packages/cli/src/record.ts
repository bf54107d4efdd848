/**
 * `--record`: the run's render frames into `DIR/frames.bin` (format: viewer/src/recording.ts),
 * one every K steps. Built in a temp file next to the target and moved into place when the run
 * ends, like metrics.jsonl: a crashed run leaves no half-written frames file behind, and an
 * earlier recording in the same directory stays intact until the new one is complete.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RenderFrame } from '@gibbs/core';
import { ensureDir } from '@gibbs/core/node';
import { encodeFrame, encodeHeader, type RecordingMeta } from '@gibbs/viewer/recording';

export class FrameRecorder {
  private fd: number | null;
  private readonly tmp: string;
  private legendKey = '';
  frames = 0;
  bytes = 0;

  constructor(
    readonly path: string,
    meta: RecordingMeta,
  ) {
    ensureDir(dirname(path));
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    this.fd = openSync(this.tmp, 'w');
    this.write(encodeHeader(meta));
  }

  record(frame: RenderFrame): void {
    const key = `${frame.legend.join('\u0000')}|${frame.groups.join('\u0000')}`;
    this.write(encodeFrame(frame, key !== this.legendKey));
    this.legendKey = key;
    this.frames++;
  }

  commit(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }

  private write(bytes: Uint8Array): void {
    if (this.fd === null) throw new Error(`FrameRecorder(${this.path}): already closed`);
    writeSync(this.fd, bytes);
    this.bytes += bytes.length;
  }
}
