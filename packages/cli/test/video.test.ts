/**
 * `gibbs video DIR out.webm` (issue 13, item 5): a Battle run recorded with `gibbs run --record`
 * becomes a WebM that Chromium plays back, its frames the recorded ones in order, drawn in the
 * map's colours; bad arguments are one line, exit code 2. The decoded frames land in
 * test-output/viewer/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RenderFrame } from '@gibbs/core';
import { launchChromium, outputPath } from '@gibbs/test-support/browser';
import { cleanEnv } from '@gibbs/test-support/child';
import { fitCamera, groupColour, legendColour, readRecording, readWebm } from '@gibbs/viewer';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'gibbs-video-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (args: string[], env: NodeJS.ProcessEnv = cleanEnv()) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'packages/cli/src/main.ts'), ...args],
    { cwd: ROOT, encoding: 'utf8', env },
  );

/** A run exits 2 with one line on stderr matching `message`. */
function refused(args: string[], message: RegExp, env?: NodeJS.ProcessEnv): void {
  const r = cli(args, env);
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
}

const recorded = join(work, 'battle');

describe('gibbs video', { timeout: 240_000 }, () => {
  it('renders a recorded Battle run to a WebM that plays its frames in order', async () => {
    const run = cli([
      'run',
      'battle',
      '--steps',
      '40',
      '--record-every',
      '4',
      '--seed',
      '3',
      '--out',
      recorded,
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/frames\.bin \(11 frames\)/);

    const out = join(work, 'battle.webm');
    // Steps 8..32: recorded frames 2..8, seven video frames at 5 fps (1.4 s), 720 px wide.
    const r = cli([
      'video',
      recorded,
      out,
      '--fps',
      '5',
      '--from',
      '8',
      '--to',
      '32',
      '--width',
      '720',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /wrote .*battle\.webm: 7 frames \(steps 8\.\.32\) at 5 fps = 1\.40 s, 720x720 V_VP(8|9)/,
    );

    const bytes = readFileSync(out);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x1a, 0x45, 0xdf, 0xa3]);
    const webm = readWebm(bytes);
    expect(webm.docType).toBe('webm');
    expect(webm.durationMs).toBeCloseTo(1400, 6);
    expect([webm.width, webm.height]).toEqual([720, 720]);
    expect(webm.frames).toBe(7);
    expect(webm.times).toEqual([0, 200, 400, 600, 800, 1000, 1200]);
    expect(webm.clusters).toBeGreaterThanOrEqual(1);
    expect(webm.cues).toBe(webm.clusters);
    expect(bytes.length).toBeGreaterThan(2000);

    // Chromium plays it back: its length, size, and each frame's colours at known cells.
    const file = readFileSync(join(recorded, 'frames.bin'));
    const rec = readRecording(file.buffer.slice(file.byteOffset, file.byteOffset + file.length));
    const frames = [2, 3, 4, 5, 6, 7, 8].map((i) => rec.frame(i));
    expect(frames.map((f) => f.step)).toEqual([8, 12, 16, 20, 24, 28, 32]);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const decoded = await page.evaluate(
        async ({ b64, fps, count }) => {
          const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const v = document.createElement('video');
          v.muted = true;
          v.src = URL.createObjectURL(new Blob([data], { type: 'video/webm' }));
          await new Promise((ok, fail) => {
            v.onloadedmetadata = ok;
            v.onerror = () => fail(new Error(`video: ${v.error?.message}`));
          });
          const c = document.createElement('canvas');
          c.width = v.videoWidth;
          c.height = v.videoHeight;
          const ctx = c.getContext('2d', { willReadFrequently: true })!;
          const pngs: string[] = [];
          const pixels: string[] = [];
          for (let k = 0; k < count; k++) {
            v.currentTime = (k + 0.5) / fps;
            await new Promise((ok) => {
              v.onseeked = ok;
            });
            ctx.drawImage(v, 0, 0);
            // RGBA as base64: a JSON array of millions of numbers is slow to hand over.
            const px = ctx.getImageData(0, 0, c.width, c.height).data;
            let bin = '';
            for (let i = 0; i < px.length; i += 0x8000)
              bin += String.fromCharCode(...px.subarray(i, i + 0x8000));
            pixels.push(btoa(bin));
            pngs.push(c.toDataURL('image/png'));
          }
          return { duration: v.duration, width: v.videoWidth, height: v.videoHeight, pixels, pngs };
        },
        { b64: bytes.toString('base64'), fps: 5, count: frames.length },
      );
      const rgba = decoded.pixels.map((b64) => new Uint8Array(Buffer.from(b64, 'base64')));
      expect(decoded.duration).toBeCloseTo(1.4, 1);
      expect([decoded.width, decoded.height]).toEqual([720, 720]);
      for (const [k, png] of decoded.pngs.entries())
        writeFileSync(outputPath(`video-frame-${k}.png`), Buffer.from(png.split(',')[1], 'base64'));

      for (const [k, f] of frames.entries()) {
        const bad = wrongPixels(f, rgba[k], 720, 720);
        expect(bad.checked, `frame ${k}`).toBeGreaterThan(50);
        expect(bad.wrong, `frame ${k} (step ${f.step}): ${bad.example}`).toEqual(0);
      }
      // The frames differ: agents moved between the first and the last.
      const diff = rgba[0].filter((v, i) => Math.abs(v - rgba[6][i]) > 40);
      expect(diff.length).toBeGreaterThan(100);
    } finally {
      await browser.close();
    }
  });

  it('refuses bad arguments in one line', () => {
    const out = join(work, 'x.webm');
    refused(['video'], /^gibbs: <run-dir>: got undefined, expected a run directory recorded/);
    refused(['video', recorded], /^gibbs: <out\.webm>: got undefined, expected the WebM file/);
    refused(
      ['video', join(work, 'nope'), out],
      /<run-dir>: got ".*nope", expected an existing run directory/,
    );
    mkdirSync(join(work, 'empty'), { recursive: true });
    refused(
      ['video', join(work, 'empty'), out],
      /<run-dir>: got ".*empty", expected a run directory holding frames\.bin \(record one with `pnpm gibbs run <experiment> --record`\)/,
    );
    mkdirSync(join(work, 'junk'), { recursive: true });
    writeFileSync(join(work, 'junk', 'frames.bin'), 'not frames');
    refused(['video', join(work, 'junk'), out], /not a Gibbs frames file/);
    refused(
      ['video', recorded, join(work, 'x.mp4')],
      /<out\.webm>: got ".*x\.mp4", expected a file name ending in \.webm/,
    );
    writeFileSync(out, 'old');
    refused(
      ['video', recorded, out],
      /<out\.webm>: got ".*x\.webm", expected a new file \(or --overwrite/,
    );
    refused(
      ['video', recorded, join(work, 'y.webm'), '--from', '100'],
      /--from\/--to: got "100\.\.end", expected a range holding recorded steps \(the recording holds steps 0\.\.40, every 4\)/,
    );
    refused(
      ['video', recorded, join(work, 'y.webm'), '--from', '9', '--to', '5'],
      /--to: got 5, expected a step >= --from \(9\)/,
    );
    refused(
      ['video', recorded, join(work, 'y.webm'), '--fps', '0'],
      /--fps: got "0", expected a number in \[0\.1, 240\]/,
    );
    refused(
      ['video', recorded, join(work, 'y.webm'), '--speed', '2'],
      /option: got "--speed", expected one of --fps, --from, --to, --width, --overwrite \(gibbs video --help\)/,
    );
    refused(
      ['video', recorded, join(work, 'y.webm')],
      /^gibbs: no chromium at \/nonexistent\/chromium: .*apt-get install -y chromium.*CHROMIUM_PATH/,
      { ...cleanEnv(), CHROMIUM_PATH: '/nonexistent/chromium' },
    );
  });

  it('--help prints the usage', () => {
    const r = cli(['video', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pnpm gibbs video <run-dir> <out\.webm> \[--fps F\]/);
    expect(cli(['--help']).stdout).toMatch(
      /video +render a run recorded with `run --record` to a WebM/,
    );
  });
});

/**
 * Pixels of a decoded frame that are not the colour the viewer draws there: the centres of cells
 * without an agent (their legend colour), and each agent's body, away from its heading tick (its
 * group colour). VP9/VP8 are lossy (small bodies lose some saturation to chroma subsampling): a
 * pixel is right when the colour it should be is the nearest of the frame's colours (the legend's
 * and the groups').
 */
function wrongPixels(f: RenderFrame, rgba: Uint8Array, width: number, height: number) {
  const cam = fitCamera(f.width, f.height, width, height);
  const palette = [
    ...f.legend.map((name, code) => legendColour(name, code, f.groups)),
    ...f.groups.map((_, g) => groupColour(g)),
  ];
  const dist = (a: readonly number[], b: readonly number[]) =>
    (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;
  const occupied = new Set<number>();
  for (let i = 0; i < f.agents.count; i++)
    occupied.add(Math.floor(f.agents.y[i]) * f.width + Math.floor(f.agents.x[i]));
  let checked = 0;
  let wrong = 0;
  let example = '';
  const check = (wx: number, wy: number, want: readonly number[], what: string) => {
    const px = Math.floor(wx * cam.scale + cam.x);
    const py = Math.floor(wy * cam.scale + cam.y);
    const o = 4 * (py * width + px);
    const got = [rgba[o], rgba[o + 1], rgba[o + 2]];
    checked++;
    if (palette.some((c) => dist(got, c) < dist(got, want))) {
      wrong++;
      example ||= `${what} at pixel (${px}, ${py}): got ${got}, want ${want}`;
    }
  };
  for (let y = 0; y < f.height; y += 3) {
    for (let x = 0; x < f.width; x += 3) {
      if (occupied.has(y * f.width + x)) continue;
      const code = f.cells[y * f.width + x];
      check(x + 0.5, y + 0.5, legendColour(f.legend[code], code, f.groups), `cell (${x}, ${y})`);
    }
  }
  const a = f.agents;
  for (let i = 0; i < a.count; i += 2) {
    const h = a.heading[i];
    const [dx, dy] = Number.isNaN(h) ? [0, 0] : [Math.cos(h), Math.sin(h)];
    const g = a.group[i];
    // Behind the tick (it starts at the body's centre), clear of the body's edges and hp bar.
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    check(
      Math.floor(a.x[i]) + clamp(0.5 - 0.22 * dx, 0.3, 0.7),
      Math.floor(a.y[i]) + clamp(0.55 - 0.22 * dy, 0.42, 0.78),
      groupColour(g),
      `agent ${i} of ${f.groups[g]}`,
    );
  }
  return { checked, wrong, example };
}
