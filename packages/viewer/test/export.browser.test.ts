/**
 * Export from the page (issue 13, item 5), in Debian's chromium: `record` (v) records the stage of
 * a replay as it plays to a WebM download, `snapshot` (s) downloads the canvas as a PNG. The
 * downloads and screenshots land in test-output/viewer/.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupColour, legendColour } from '../src/palette.ts';
import { encodeFrame, encodeHeader } from '../src/recording.ts';
import { startViewerServer, type ViewerServer } from '../src/server.ts';
import { readWebm } from '../src/webm.ts';
import { collectErrors, launchChromium, outputPath, pngPixels } from './browser.ts';
import walkers from './fixtures/walkers.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/walkers.ts');

let server: ViewerServer;
let browser: Browser;
let runsDir: string;

/** A recording of the walkers world: 60 frames, from step 1. */
async function writeRun(dir: string): Promise<void> {
  const params = { width: 48, height: 32, agents: 40 };
  const sim = await walkers.create({ params: walkers.params.parse(params), seed: 5 });
  const parts: Uint8Array[] = [encodeHeader({ experiment: 'walkers', seed: 5, params, every: 1 })];
  for (let i = 0; i < 60; i++) {
    await sim.advance();
    parts.push(encodeFrame(sim.frame()!, i === 0));
  }
  mkdirSync(join(runsDir, dir), { recursive: true });
  writeFileSync(join(runsDir, dir, 'frames.bin'), Buffer.concat(parts));
}

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const errors = collectErrors(page);
  await page.goto(`${server.url}?${query}`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {
    timeout: 90_000,
  });
  return { page, errors };
}

beforeAll(async () => {
  runsDir = mkdtempSync(join(tmpdir(), 'gibbs-viewer-export-'));
  await writeRun('rec');
  server = await startViewerServer({ experiments: { walkers: FIXTURE }, runsDir });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('export from the page', { timeout: 180_000 }, () => {
  it('records a replay as it plays to a WebM download (record, then v)', async () => {
    const { page, errors } = await open('replay=rec&speed=10');
    await page.waitForFunction(() => window.gibbs.status?.kind === 'replay');
    const canvas = await page.evaluate(() => ({
      width: window.gibbs.view.canvas.width,
      height: window.gibbs.view.canvas.height,
    }));
    await page.click('#record');
    expect(await page.getAttribute('#record', 'aria-pressed')).toBe('true');
    await page.click('#play');
    await page.waitForFunction(() => (window.gibbs.status?.replay?.index ?? 0) >= 25, null, {
      timeout: 60_000,
    });
    // The button counts the time recorded.
    await page.waitForFunction(() =>
      /^stop 0:0[1-9]/.test(document.getElementById('record')?.textContent ?? ''),
    );
    await page.screenshot({ path: outputPath('export-recording.png') });
    // v stops it (the stage has the keys once clicked).
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('v')]);
    // Named by the experiment and the step the recording started at (the replay's first, 1).
    expect(download.suggestedFilename()).toBe('gibbs-walkers-1.webm');
    const path = await download.path();
    copyFileSync(path, outputPath('export-recording.webm'));
    const bytes = new Uint8Array(readFileSync(path));
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x1a, 0x45, 0xdf, 0xa3]);
    expect(Buffer.from(bytes).includes('webm')).toBe(true);
    expect(bytes.length).toBeGreaterThan(5_000);
    expect(bytes.length).toBeLessThan(20 * 2 ** 20);
    const webm = readWebm(bytes);
    expect(webm.docType).toBe('webm');
    expect(webm.codec).toMatch(/^V_VP[89]$/);
    expect([webm.width, webm.height]).toEqual([canvas.width, canvas.height]);
    expect(webm.clusters).toBeGreaterThanOrEqual(1);
    // About 2.5 s of a replay at 10 frames per second, captured at up to 30: frames, in order.
    expect(webm.frames).toBeGreaterThanOrEqual(10);
    expect(webm.keyFrames).toBeGreaterThanOrEqual(1);
    expect(webm.times.every((t, i) => i === 0 || t >= webm.times[i - 1])).toBe(true);
    expect(webm.times[webm.times.length - 1] - webm.times[0]).toBeGreaterThan(1000);
    // It plays back, and shows the map: pixels of both group colours in a frame half a second in.
    const seen = await page.evaluate(
      async ({ b64, colours }) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const v = document.createElement('video');
        v.muted = true;
        v.src = URL.createObjectURL(new Blob([data], { type: 'video/webm' }));
        document.body.append(v);
        const c = new OffscreenCanvas(1, 1);
        const ctx = c.getContext('2d')!;
        // A frame as it is presented (drawn before the first one is, a video gives nothing).
        await new Promise<void>((ok, fail) => {
          v.onerror = () => fail(new Error(`video: ${v.error?.message}`));
          const grab = (_: number, m: VideoFrameCallbackMetadata) => {
            if (m.mediaTime < 0.5) {
              v.requestVideoFrameCallback(grab);
              return;
            }
            c.width = v.videoWidth;
            c.height = v.videoHeight;
            ctx.drawImage(v, 0, 0);
            v.pause();
            ok();
          };
          v.requestVideoFrameCallback(grab);
          void v.play();
        });
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        return colours.map((rgb) => {
          let n = 0;
          for (let i = 0; i < px.length; i += 4)
            if (
              Math.abs(px[i] - rgb[0]) +
                Math.abs(px[i + 1] - rgb[1]) +
                Math.abs(px[i + 2] - rgb[2]) <
              60
            )
              n++;
          return n;
        });
      },
      { b64: Buffer.from(bytes).toString('base64'), colours: [groupColour(0), groupColour(1)] },
    );
    expect(seen[0], 'red pixels').toBeGreaterThan(500);
    expect(seen[1], 'blue pixels').toBeGreaterThan(500);
    expect(await page.getAttribute('#record', 'aria-pressed')).toBe('false');
    expect(await page.textContent('#record')).toBe('record');
    expect(await page.textContent('#message')).toMatch(/^saved gibbs-walkers-1\.webm \(\d/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('downloads a PNG snapshot of the canvas (s), at its size, in the map colours', async () => {
    const { page, errors } = await open('replay=rec');
    await page.waitForFunction(() => window.gibbs.status?.kind === 'replay');
    // Agents drawn one by one off (a: auto -> on -> off): the cells alone carry the colours.
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    await page.keyboard.press('a');
    await page.keyboard.press('a');
    await page.click('#step');
    await page.click('#step');
    await page.waitForFunction(() => window.gibbs.frame?.step === 3);
    await page.waitForTimeout(300);
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('s')]);
    expect(download.suggestedFilename()).toBe('gibbs-walkers-3.png');
    const png = readFileSync(await download.path());
    writeFileSync(outputPath('export-snapshot.png'), png);
    expect(Array.from(png.subarray(0, 8))).toEqual([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
    ]);
    const canvas = await page.evaluate(() => ({
      width: window.gibbs.view.canvas.width,
      height: window.gibbs.view.canvas.height,
    }));
    expect(canvas.width).toBeGreaterThan(100);
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([canvas.width, canvas.height]);
    // The picture is the map: cells at known places have their legend colour.
    const f = await page.evaluate(() => {
      const f = window.gibbs.frame!;
      return {
        width: f.width,
        height: f.height,
        cells: Array.from(f.cells),
        legend: f.legend,
        groups: f.groups,
      };
    });
    const picks: [number, number][] = [
      [0, 0],
      [f.width - 1, f.height - 1],
    ];
    for (const code of new Set(f.cells)) {
      for (const i of [f.cells.indexOf(code), f.cells.lastIndexOf(code)])
        picks.push([i % f.width, Math.floor(i / f.width)]);
    }
    const points = await page.evaluate(
      (ps) => ps.map(([x, y]) => window.gibbs.view.cellToScreen(x, y)),
      picks,
    );
    const pixels = await pngPixels(page, png, points);
    picks.forEach(([x, y], k) => {
      const code = f.cells[y * f.width + x];
      const want = legendColour(f.legend[code], code, f.groups);
      const got = pixels[k].slice(0, 3);
      for (let c = 0; c < 3; c++)
        expect(
          Math.abs(got[c] - want[c]),
          `cell (${x}, ${y}) ${f.legend[code]}: got ${got}, want ${want}`,
        ).toBeLessThanOrEqual(3);
    });
    expect(await page.textContent('#message')).toBe('saved gibbs-walkers-3.png');
    // The keys are in the help.
    await page.keyboard.press('?');
    const help = await page.textContent('#help');
    expect(help).toMatch(/v\s*record the stage to WebM/);
    expect(help).toMatch(/s\s*snapshot: download the stage as a PNG/);
    await page.screenshot({ path: outputPath('export-help.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});
