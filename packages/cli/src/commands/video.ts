/**
 * `pnpm gibbs video <run-dir> <out.webm> [--fps F] [--from STEP] [--to STEP] [--width W]
 * [--overwrite]`: a recorded run (`gibbs run X --record`) as a WebM video, headless. The viewer's
 * replay of the run is loaded in Debian's chromium (through playwright-core; never a browser
 * download), the stage alone filling the window, and each recorded frame in range is drawn and
 * encoded in the page (WebCodecs, VP9 or VP8) with timestamp i/fps: a fixed frame rate however
 * long software GL takes to draw a frame. The bytes come out of the page in base64 pieces.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { GibbsError } from '@gibbs/core';
import { ensureDir } from '@gibbs/core/node';
import { readRecording } from '@gibbs/viewer/recording';
import { parseArgs, takeFlag, takeInt, takeNumber } from '../args.ts';
import { Progress } from '../progress.ts';

export const describe =
  'render a run recorded with `run --record` to a WebM video (headless chromium)';

const FRAMES_FILE = 'frames.bin';
/** Default width: the grid's width times the largest whole scale that stays within this. */
const DEFAULT_MAX_WIDTH = 960;

function usage(): string {
  return [
    'Usage: pnpm gibbs video <run-dir> <out.webm> [--fps F] [--from STEP] [--to STEP] [--width W]',
    '                        [--overwrite]',
    '<run-dir>: a run directory holding frames.bin (`pnpm gibbs run <experiment> --record`).',
    '<out.webm>: the video to write; an existing file is refused unless --overwrite.',
    '--fps F: video frames per second (default 30); each recorded frame is one video frame, so',
    '  a run recorded every K steps plays at F*K steps per second.',
    '--from STEP, --to STEP: only the recorded frames of these steps (inclusive).',
    `--width W: video width in pixels (default: the grid's width times a whole scale, up to ${DEFAULT_MAX_WIDTH});`,
    "  the height follows the grid's aspect ratio. Both are rounded to even numbers.",
    "Needs Debian's chromium (apt-get install -y chromium), or CHROMIUM_PATH set to a Chromium.",
  ].join('\n');
}

/** Launch arguments that work with Debian's chromium, headless (docs/toolchain.md). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/** What `window.gibbs` offers `gibbs video` (packages/viewer/src/main.ts's hooks). */
interface PageHooks {
  status: { kind: string; replay?: { frames: number } } | null;
  encodeReplay(opts: { indices: number[]; fps: number }): Promise<{
    codec: string;
    width: number;
    height: number;
    frames: number;
    size: number;
  }>;
  videoChunk(offset: number, length: number): string;
}
// The page.evaluate callbacks below are sent to the page as source text: each names the hooks
// itself (a helper defined here would not exist there).

const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'gibbs video',
    options: {
      fps: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      width: { type: 'string' },
      overwrite: { type: 'boolean' },
    },
  });
  if (args.options.has('help')) {
    console.log(usage());
    return 0;
  }
  const fps = takeNumber(args, 'fps', 30, 0.1, 240);
  const from = takeInt(args, 'from', 0, 0);
  const to = takeInt(args, 'to', Number.MAX_SAFE_INTEGER, 0);
  if (to < from) throw GibbsError.invalid('--to', to, `a step >= --from (${from})`);
  const widthGiven = args.options.has('width');
  const widthOption = takeInt(args, 'width', 0, 16, 4096);
  const overwrite = takeFlag(args, 'overwrite');
  const [dirArg, outArg, ...rest] = args.positionals;
  if (dirArg === undefined)
    throw GibbsError.invalid(
      '<run-dir>',
      undefined,
      'a run directory recorded with `pnpm gibbs run <experiment> --record` (gibbs video --help)',
    );
  if (outArg === undefined)
    throw GibbsError.invalid(
      '<out.webm>',
      undefined,
      'the WebM file to write (gibbs video --help)',
    );
  if (rest.length > 0)
    throw GibbsError.invalid(
      'arguments',
      rest.join(' '),
      'a run directory and an output file only',
    );
  if (!outArg.toLowerCase().endsWith('.webm'))
    throw GibbsError.invalid('<out.webm>', outArg, 'a file name ending in .webm');

  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw GibbsError.invalid('<run-dir>', dirArg, 'an existing run directory');
  const framesPath = join(dir, FRAMES_FILE);
  if (!existsSync(framesPath))
    throw GibbsError.invalid(
      '<run-dir>',
      dirArg,
      `a run directory holding ${FRAMES_FILE} (record one with \`pnpm gibbs run <experiment> --record\`)`,
    );
  const out = resolve(outArg);
  if (existsSync(out) && !overwrite)
    throw GibbsError.invalid('<out.webm>', outArg, 'a new file (or --overwrite to replace it)');

  // The frames in range, and the grid's size, read here where a message is easiest to give.
  const file = readFileSync(framesPath);
  const rec = readRecording(
    file.buffer.slice(file.byteOffset, file.byteOffset + file.length),
    `${dirArg}/${FRAMES_FILE}`,
  );
  if (rec.offsets.length === 0)
    throw GibbsError.invalid('<run-dir>', dirArg, `a ${FRAMES_FILE} holding at least one frame`);
  const steps = rec.offsets.map((o) => file.readUInt32LE(o + 4));
  const indices = steps.flatMap((s, i) => (s >= from && s <= to ? [i] : []));
  if (indices.length === 0)
    throw GibbsError.invalid(
      '--from/--to',
      `${from}..${to === Number.MAX_SAFE_INTEGER ? 'end' : to}`,
      `a range holding recorded steps (the recording holds steps ${steps[0]}..${steps[steps.length - 1]}, every ${rec.meta.every})`,
    );
  const first = rec.frame(indices[0]);
  if (first.width * first.height === 0)
    throw GibbsError.invalid('<run-dir>', dirArg, 'a recording of a world with a grid to draw');
  const scale = Math.max(1, Math.floor(DEFAULT_MAX_WIDTH / first.width));
  const width = even(widthGiven ? widthOption : first.width * scale);
  const height = even((width * first.height) / first.width);

  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath))
    throw new GibbsError(
      `no chromium at ${executablePath}: gibbs video draws in Debian's chromium; install it (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium`,
      'CHROMIUM_PATH',
      executablePath,
      'a Chromium executable',
    );

  // Loaded only here: the viewer's dev server (vite) and the browser driver are large.
  // The dev server works on the viewer's sources: a checkout has them, a packed install not.
  const { startViewerServer } = await import('@gibbs/viewer/server').catch((err: unknown) => {
    throw new GibbsError(
      `gibbs video serves the viewer from its sources, which this install lacks (${err instanceof Error ? err.message : String(err)}): run it from a checkout of the repository`,
    );
  });
  const { chromium } = await import('playwright-core');
  const progress = new Progress(`video ${basename(out)}`, 'frames');
  const server = await startViewerServer({
    experiments: {},
    runsDir: dirname(dir),
    defaults: { replay: basename(dir) },
  });
  let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.exposeFunction('gibbsVideoProgress', (done: number, total: number) =>
      progress.update(done, total),
    );
    await page.goto(`${server.url}?layout=stage&replay=${encodeURIComponent(basename(dir))}`);
    await page
      .waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 })
      .catch(() => {
        throw new GibbsError(
          `the viewer page did not load in 120 s${pageErrors.length > 0 ? `: ${pageErrors[0]}` : ''}`,
        );
      });
    const kind = await page.evaluate(
      () => (globalThis as unknown as { gibbs: PageHooks }).gibbs.status?.kind ?? null,
    );
    if (kind !== 'replay') {
      const said = (await page.textContent('#message'))?.trim();
      throw new GibbsError(`the viewer could not replay ${dirArg}: ${said || 'no replay shown'}`);
    }
    const t0 = performance.now();
    const info = await page.evaluate(
      (o) => (globalThis as unknown as { gibbs: PageHooks }).gibbs.encodeReplay(o),
      { indices, fps },
    );
    // Out of the page in 4 MiB pieces (base64 over the protocol), into a temp file, then renamed.
    const parts: Buffer[] = [];
    const piece = 4 * 2 ** 20;
    for (let o = 0; o < info.size; o += piece) {
      const b64 = await page.evaluate(
        ([at, n]) => (globalThis as unknown as { gibbs: PageHooks }).gibbs.videoChunk(at, n),
        [o, piece],
      );
      parts.push(Buffer.from(b64, 'base64'));
    }
    const bytes = Buffer.concat(parts);
    if (bytes.length !== info.size)
      throw new GibbsError(`the page gave ${bytes.length} of the video's ${info.size} bytes`);
    ensureDir(dirname(out), '<out.webm>');
    const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
    writeFileSync(tmp, bytes);
    try {
      renameSync(tmp, out);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `wrote ${outArg}: ${info.frames} frames (steps ${steps[indices[0]]}..${steps[indices[indices.length - 1]]}) at ${fps} fps = ${(info.frames / fps).toFixed(2)} s, ${info.width}x${info.height} ${info.codec}, ${(info.size / 2 ** 20).toFixed(2)} MiB (encoded in ${secs} s)`,
    );
    return 0;
  } finally {
    await browser?.close();
    await server.close();
  }
}
