/**
 * A run served over a WebSocket (the `ws` package): every watcher gets the run's info and status,
 * metrics, episodes, logs and render frames, and may control it (runtime/protocol.ts). Several
 * watchers attach and leave at any time. Binds to loopback unless told otherwise.
 *
 * Nothing a watcher does can hurt the run: malformed or unknown messages get a `rejected` answer;
 * a socket that errors or closes mid-message is dropped; a message over the size limit closes
 * that connection with 1009; a watcher that reads nothing gets no more frames once its send buffer
 * holds `frameBufferBytes`, and no more metrics once it holds `maxBufferedBytes` (it is told how
 * many it missed). Replies to a watcher's own requests count against the same cap: past it, its
 * requests are refused (`rejected`, field `buffer`) without being run, an inspection or snapshot
 * whose turn comes while the buffer is full is refused instead of sent, and after
 * MAX_REFUSED_REQUESTS refusals in a row the watcher is dropped (close code 1008). At most
 * MAX_REQUESTS_IN_FLIGHT requests of a watcher are run at a time. So memory stays bounded
 * whatever a watcher sends or fails to read.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Subscription } from 'rxjs';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { Environment, StepOutput } from '../env.ts';
import { GibbsError } from '../errors.ts';
import type { Experiment, Simulation } from '../experiment.ts';
import type { RenderFrame } from '../frame.ts';
import { now } from '../runtime/control.ts';
import { type RunHooks, reviveError, SimulationEngine, toRunError } from '../runtime/engine.ts';
import {
  decodeActions,
  ExternalEnvironment,
  encodeObservation,
  externalSpecOf,
  isActionMessage,
} from '../runtime/external.ts';
import { EngineHandle, type SimulationHandle } from '../runtime/handle.ts';
import {
  type ClientMessage,
  encodeFrame,
  MAX_CLIENT_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  parseClientMessage,
  type ServerMessage,
} from '../runtime/protocol.ts';
import { createEngineRpc } from '../runtime/rpc.ts';
import type { RunError, RunInfo, RunStatus } from '../runtime/types.ts';

export interface ServeOptions {
  /** Interface to bind (default 127.0.0.1: loopback only). */
  host?: string;
  /** Port (default 0: any free port; see RunServer.port). */
  port?: number;
  /** Most frames per second sent to a watcher, and the default for new watchers (default 30). */
  maxFps?: number;
  /** A watcher gets no frame while its send buffer holds more than this (default 1 MiB). */
  frameBufferBytes?: number;
  /** A watcher gets no metrics/status while its send buffer holds more than this (default 8 MiB). */
  maxBufferedBytes?: number;
  /**
   * Browser origins allowed to connect (the Origin header), besides loopback pages
   * (http://localhost:*, http://127.0.0.1:*, http://[::1]:*) and clients that send no Origin (not
   * browsers). 'any' allows every page: without a check, any web site open in the user's browser
   * could steer the run, WebSockets not being bound by CORS.
   */
  origins?: readonly string[] | 'any';
}

const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** May a connection with this Origin header attach? */
export function originAllowed(
  origin: string | undefined,
  allowed: readonly string[] | 'any' = [],
): boolean {
  if (origin === undefined || allowed === 'any') return true;
  return LOOPBACK_ORIGIN.test(origin) || allowed.includes(origin);
}

export interface RunServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Watchers connected now. */
  readonly clients: number;
  /** Bytes waiting in the watchers' send buffers now (bounded: see ServeOptions). */
  bufferedBytes(): number;
  /** Close every connection and stop listening. */
  close(): Promise<void>;
}

/** `PORT`, `HOST:PORT` or `[IPv6]:PORT` to a host and port (loopback when no host is given). */
export function parseServeAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw GibbsError.invalid('--serve', text, 'PORT or HOST:PORT with a port in [0, 65535]');
  }
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

interface Watcher {
  ws: WebSocket;
  maxFps: number;
  lastFrame: number;
  framesDropped: number;
  metricsDropped: number;
  reported: string;
  /** Requests being run now. */
  inFlight: number;
  /** Requests refused in a row because the send buffer was full. */
  refused: number;
  /** Forget this watcher at once (it is being closed for not reading). */
  onDrop: () => void;
}

/** Requests of one watcher run at a time; more are refused until answers go out. */
export const MAX_REQUESTS_IN_FLIGHT = 64;
/** Requests refused in a row for a full send buffer, after which the watcher is dropped. */
export const MAX_REFUSED_REQUESTS = 64;
/** Close code for a watcher dropped because it does not read its replies (policy violation). */
export const CLOSE_BUFFER_FULL = 1008;

function newWatcher(ws: WebSocket, maxFps: number): Watcher {
  return {
    ws,
    maxFps,
    lastFrame: -Infinity,
    framesDropped: 0,
    metricsDropped: 0,
    reported: '0/0',
    inFlight: 0,
    refused: 0,
    onDrop: () => {},
  };
}

type Id = string | number | undefined;

/**
 * A refusal for a full send buffer (counted: after MAX_REFUSED_REQUESTS in a row the watcher is
 * closed with CLOSE_BUFFER_FULL and nothing more is sent to it).
 */
function refuseFull(w: Watcher, what: string, id: Id, cap: number): void {
  if (w.ws.readyState !== w.ws.OPEN) return;
  if (++w.refused > MAX_REFUSED_REQUESTS) {
    // The close frame waits behind what the watcher has not read; ws destroys the socket if the
    // close is not answered within 30 s. Nothing more is sent to it meanwhile.
    w.ws.close(CLOSE_BUFFER_FULL, 'send buffer full: read the replies');
    w.onDrop();
    return;
  }
  const msg: ServerMessage = {
    type: 'rejected',
    id,
    message: `${what}: this watcher's send buffer is full (${w.ws.bufferedAmount} bytes); read the replies first`,
    field: 'buffer',
    expected: `a send buffer under ${cap} bytes`,
  };
  w.ws.send(JSON.stringify(msg));
}

/**
 * May this watcher's request run now? Not while its send buffer is over `cap` (refused, counted)
 * or MAX_REQUESTS_IN_FLIGHT of its requests are running (refused).
 */
function admit(w: Watcher, what: string, id: Id, cap: number): boolean {
  if (w.ws.readyState !== w.ws.OPEN) return false;
  if (w.ws.bufferedAmount > cap) {
    refuseFull(w, what, id, cap);
    return false;
  }
  if (w.inFlight >= MAX_REQUESTS_IN_FLIGHT) {
    const msg: ServerMessage = {
      type: 'rejected',
      id,
      message: `${what}: ${w.inFlight} requests of this watcher are running; wait for their answers`,
      field: 'requests',
      expected: `at most ${MAX_REQUESTS_IN_FLIGHT} requests at a time`,
    };
    w.ws.send(JSON.stringify(msg));
    return false;
  }
  w.refused = 0;
  return true;
}

/**
 * A socket error (a message over the size limit, a bad frame): ws has already started the close
 * with the matching code (1009 for a message too big) and discards what still comes in. The
 * connection is not cut here: a peer still sending would get a reset, lose the close frame and
 * see 1006. ws ends the socket once the close is answered, or destroys it after 30 s.
 */
function onSocketError(ws: WebSocket): void {
  if (ws.readyState === ws.OPEN) ws.close(1011, 'socket error');
}

function rawBytes(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** The HTTP server (GET / describes the run), its WebSocket server, listen and shutdown. */
function openWsServer(opts: ServeOptions, describe: () => unknown, maxPayload: number) {
  const host = opts.host ?? '127.0.0.1';
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    // A plain GET tells what is served (handy with curl); everything else is for WebSockets.
    if (req.method === 'GET' && (req.url === '/' || req.url === '/info')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(describe()));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: connect with a WebSocket\n');
  });
  http.on('clientError', (_err, socket) => socket.destroy());
  const wss = new WebSocketServer({
    server: http,
    maxPayload,
    verifyClient: (info: { origin?: string }) =>
      originAllowed(info.origin || undefined, opts.origins),
  });
  const listen = async (): Promise<{ url: string; port: number }> => {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const port = (http.address() as AddressInfo).port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    return { url: `ws://${urlHost}:${port}`, port };
  };
  /** Close every connection (open ones get a moment to read the close) and stop listening. */
  const shutdown = async (open: () => WebSocket[]): Promise<void> => {
    for (const ws of open()) ws.close(1001, 'server closing');
    const t = now();
    while (open().length > 0 && now() - t < 300) await new Promise((r) => setTimeout(r, 10));
    for (const ws of open()) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return { http, wss, listen, shutdown };
}

export async function serveRun(
  handle: SimulationHandle,
  opts: ServeOptions = {},
): Promise<RunServer> {
  const host = opts.host ?? '127.0.0.1';
  const serverFps = opts.maxFps ?? 30;
  const frameBufferBytes = opts.frameBufferBytes ?? 1 << 20;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 8 << 20;
  const watchers = new Set<Watcher>();
  /** Every open socket, a watcher dropped for not reading included (until it is closed). */
  const sockets = new Set<WebSocket>();
  const subs: Subscription[] = [];
  let ended = false;

  const { wss, listen, shutdown } = openWsServer(
    opts,
    () => ({ protocol: PROTOCOL_VERSION, info: handle.info, status: handle.status }),
    MAX_CLIENT_MESSAGE_BYTES,
  );

  const send = (w: Watcher, msg: ServerMessage, essential = false): boolean => {
    if (w.ws.readyState !== w.ws.OPEN) return false;
    if (!essential && w.ws.bufferedAmount > maxBufferedBytes) return false;
    w.ws.send(JSON.stringify(msg));
    return true;
  };
  const broadcast = (msg: ServerMessage, onDrop?: (w: Watcher) => void) => {
    for (const w of watchers) if (!send(w, msg) && onDrop) onDrop(w);
  };

  // Frames: one pull stream at the fastest pace a watcher wants, encoded once per frame.
  let frameSub: Subscription | null = null;
  let frameFps = 0;
  const sendFrame = (frame: RenderFrame, step: number) => {
    let bytes: Uint8Array | null = null;
    const t = now();
    for (const w of watchers) {
      if (w.maxFps <= 0 || w.ws.readyState !== w.ws.OPEN) continue;
      if (t - w.lastFrame < 900 / w.maxFps || w.ws.bufferedAmount > frameBufferBytes) {
        w.framesDropped++;
        continue;
      }
      bytes ??= encodeFrame(frame, step);
      w.ws.send(bytes);
      w.lastFrame = t;
    }
  };
  const refreshFrames = () => {
    let want = 0;
    for (const w of watchers) want = Math.max(want, Math.min(w.maxFps, serverFps));
    if (ended) want = 0;
    if (want === frameFps) return;
    frameSub?.unsubscribe();
    frameSub = null;
    frameFps = want;
    if (want > 0) {
      // If the stream ends by itself (not through refreshFrames), pull again while watchers want
      // frames; a moment later, not at once: an experiment that draws nothing (frame() null)
      // ends every stream at once, and pulling again in the same tick would never let go.
      let sub: Subscription | null = null;
      const restart = () => {
        if (sub === null || frameSub !== sub) return;
        const ended$ = sub;
        setTimeout(() => {
          if (frameSub !== ended$) return;
          frameSub = null;
          frameFps = 0;
          if (!ended) refreshFrames();
        }, 250).unref();
      };
      sub = handle.frames({ maxFps: want }).subscribe({
        next: ({ frame, step }) => sendFrame(frame, step),
        error: restart,
        complete: restart,
      });
      frameSub = sub;
    }
  };

  subs.push(
    handle.metrics$.subscribe((records) =>
      broadcast({ type: 'metrics', records }, (w) => {
        w.metricsDropped += records.length;
      }),
    ),
    handle.episodes$.subscribe((e) => broadcast({ type: 'episodes', episodes: [e] })),
    handle.logs$.subscribe((line) => broadcast({ type: 'log', lines: [line] })),
    handle.errors$.subscribe((error) => {
      for (const w of watchers) send(w, { type: 'error', error }, true);
    }),
    handle.status$.subscribe((status) => {
      broadcast({ type: 'status', status });
      for (const w of watchers) {
        const key = `${w.framesDropped}/${w.metricsDropped}`;
        if (
          key !== w.reported &&
          send(w, { type: 'dropped', frames: w.framesDropped, metrics: w.metricsDropped })
        ) {
          w.reported = key;
        }
      }
    }),
  );
  void handle.done.then((status) => {
    ended = true;
    refreshFrames();
    for (const w of watchers) {
      send(w, { type: 'end', status }, true);
      w.ws.close(1000, `run ${status.state}`);
    }
  });

  const execute = async (w: Watcher, m: ClientMessage): Promise<void> => {
    try {
      let result: number | undefined;
      switch (m.type) {
        case 'pause':
          await handle.pause();
          break;
        case 'resume':
          await handle.resume();
          break;
        case 'step':
          result = await handle.step(m.n);
          break;
        case 'speed':
          await handle.setSpeed(m.stepsPerSecond);
          break;
        case 'setParam':
          await handle.setParam(m.name, m.value);
          break;
        case 'frames':
          w.maxFps = m.maxFps;
          refreshFrames();
          break;
        case 'inspect': {
          const inspection = handle.inspect ? await handle.inspect(m.group, m.slot) : null;
          // The buffer may have filled while it was computed: then a refusal, not the reply.
          if (w.ws.bufferedAmount > maxBufferedBytes)
            return refuseFull(w, m.type, m.id, maxBufferedBytes);
          send(w, { type: 'inspection', id: m.id, inspection }, true);
          return;
        }
        case 'snapshot': {
          const snap = await handle.snapshot();
          if (w.ws.bufferedAmount > maxBufferedBytes)
            return refuseFull(w, m.type, m.id, maxBufferedBytes);
          send(
            w,
            {
              type: 'snapshot',
              id: m.id,
              status: snap.status,
              metrics: snap.metrics,
              frame: !!snap.frame,
            },
            true,
          );
          if (snap.frame && w.ws.readyState === w.ws.OPEN)
            w.ws.send(encodeFrame(snap.frame, snap.status.step, m.id ?? 'snapshot'));
          return;
        }
        case 'reset':
        case 'act':
        case 'finish':
          throw new GibbsError(
            `this run's own policy acts; start it with --external to step it from a client`,
            'type',
            m.type,
            'a control of a watched run (pause, resume, step, speed, setParam, snapshot, frames, inspect)',
          );
      }
      const ack: ServerMessage = { type: 'ack', id: m.id, request: m.type };
      if (result !== undefined) ack.result = result;
      send(w, ack, true);
    } catch (err) {
      const e =
        err instanceof Error
          ? err
          : reviveError({ name: 'Error', message: String(err), stack: null, step: 0 });
      const g = e instanceof GibbsError ? e : null;
      send(
        w,
        {
          type: 'rejected',
          id: m.id,
          message: `${m.type}: ${e.message}`,
          ...(g?.field !== undefined ? { field: g.field } : {}),
          ...(g?.expected !== undefined ? { expected: g.expected } : {}),
        },
        true,
      );
    }
  };

  wss.on('connection', (ws) => {
    const w = newWatcher(ws, serverFps);
    w.onDrop = () => {
      watchers.delete(w);
      refreshFrames();
    };
    // A socket that errors (reset, bad frame, oversized message) is only this watcher's loss.
    ws.on('error', () => onSocketError(ws));
    ws.on('close', w.onDrop);
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        if (!admit(w, 'message', undefined, maxBufferedBytes)) return;
        send(
          w,
          {
            type: 'rejected',
            message: 'binary messages are not accepted; send JSON text',
            field: 'message',
            expected: 'a JSON text message',
          },
          true,
        );
        return;
      }
      const parsed = parseClientMessage(rawText(data));
      const what = parsed.ok ? parsed.message.type : 'message';
      if (!admit(w, what, parsed.ok ? parsed.message.id : parsed.id, maxBufferedBytes)) return;
      if (!parsed.ok) {
        const { ok: _ok, ...rest } = parsed;
        send(w, { type: 'rejected', ...rest }, true);
        return;
      }
      w.inFlight++;
      void execute(w, parsed.message).finally(() => {
        w.inFlight--;
      });
    });
    watchers.add(w);
    send(
      w,
      {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        info: handle.info,
        status: handle.status,
        maxFps: w.maxFps,
      },
      true,
    );
    if (ended) {
      send(w, { type: 'end', status: handle.status }, true);
      ws.close(1000, `run ${handle.status.state}`);
      return;
    }
    refreshFrames();
  });

  const { url, port } = await listen();
  return {
    url,
    host,
    port,
    get clients() {
      return watchers.size;
    },
    bufferedBytes: () => {
      let n = 0;
      for (const w of watchers) n += w.ws.bufferedAmount;
      return n;
    },
    close: async () => {
      ended = true;
      refreshFrames();
      for (const s of subs) s.unsubscribe();
      await shutdown(() => [...sockets]);
    },
  };
}

export interface EnvironmentServeOptions extends ServeOptions {
  /** The run's name in `hello` (default: the environment's name). */
  name?: string;
  description?: string;
  /** The environment's config, shown in hello's info.params. */
  params?: Record<string, unknown>;
  /** Seeds of resets that name none come from a stream with this seed (default 0). */
  seed?: number;
  /** Steps (all episodes) after which the run finishes; null (default): until `finish`. */
  steps?: number | null;
}

export interface EnvironmentServer extends RunServer {
  readonly external: ExternalEnvironment;
  /** Settles when the run ends: a client's `finish`, the step count reached, a failure, close(). */
  readonly done: Promise<RunStatus>;
}

/**
 * Serve an environment that clients step (`gibbs run <env> --serve --external`): `reset` and `act`
 * are answered by a binary observation (runtime/external.ts); watchers attach as to any run and
 * get status and frames after the steps; pause, step and the like are refused. A bad action is
 * refused with the field it names, and the run goes on; an environment that throws anything but a
 * GibbsError fails the run.
 */
export async function serveEnvironment(
  env: Environment,
  opts: EnvironmentServeOptions = {},
): Promise<EnvironmentServer> {
  const ext = new ExternalEnvironment(env, { seed: opts.seed, steps: opts.steps });
  const spec = externalSpecOf(env.spec);
  const serverFps = opts.maxFps ?? 30;
  const frameBufferBytes = opts.frameBufferBytes ?? 1 << 20;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 8 << 20;
  const info: RunInfo = {
    experiment: opts.name ?? spec.name,
    description: opts.description ?? `${spec.name}, stepped by a client's actions (--external)`,
    seed: opts.seed ?? 0,
    steps: opts.steps ?? null,
    logEvery: 1,
    params: opts.params ?? {},
    liveParams: [],
    backend: null,
    worker: false,
  };
  let framesDelivered = 0;
  let framesDropped = 0;
  let failure: RunError | null = null;
  const status = (): RunStatus => ({
    state: failure ? 'failed' : ext.state,
    step: ext.runStep,
    episode: Math.max(0, ext.episode),
    speed: null,
    backend: null,
    params: {},
    framesDelivered,
    framesDropped,
    metricsDropped: 0,
    error: failure,
  });
  // Actions come one int per slot: JSON needs up to ~12 bytes for each, binary 4.
  const slots = env.spec.groups.reduce((n, g) => n + g.capacity, 0);
  const { wss, listen, shutdown } = openWsServer(
    opts,
    () => ({ protocol: PROTOCOL_VERSION, info, status: status(), external: spec }),
    MAX_CLIENT_MESSAGE_BYTES + slots * 12,
  );
  const clients = new Set<Watcher>();
  const sockets = new Set<WebSocket>();
  let ended = false;
  let resolveDone: (s: RunStatus) => void = () => {};
  const done = new Promise<RunStatus>((r) => {
    resolveDone = r;
  });

  const send = (w: Watcher, msg: ServerMessage, essential = false): boolean => {
    if (w.ws.readyState !== w.ws.OPEN) return false;
    if (!essential && w.ws.bufferedAmount > maxBufferedBytes) return false;
    w.ws.send(JSON.stringify(msg));
    return true;
  };
  // Status at most every 100 ms (a client may step thousands of times a second).
  let statusTimer: ReturnType<typeof setTimeout> | null = null;
  let lastStatus = -Infinity;
  const sendStatus = () => {
    statusTimer = null;
    lastStatus = now();
    const st = status();
    for (const w of clients) send(w, { type: 'status', status: st });
  };
  const statusSoon = () => {
    if (statusTimer !== null || ended) return;
    const wait = lastStatus + 100 - now();
    if (wait <= 0) sendStatus();
    else statusTimer = setTimeout(sendStatus, wait);
  };
  const sendFrames = () => {
    let bytes: Uint8Array | null = null;
    const t = now();
    for (const w of clients) {
      const fps = Math.min(w.maxFps, serverFps);
      if (fps <= 0 || w.ws.readyState !== w.ws.OPEN) continue;
      if (t - w.lastFrame < 900 / fps || w.ws.bufferedAmount > frameBufferBytes) {
        w.framesDropped++;
        framesDropped++;
        continue;
      }
      bytes ??= encodeFrame(env.render(), ext.runStep);
      w.ws.send(bytes);
      w.lastFrame = t;
      framesDelivered++;
    }
  };
  const end = () => {
    if (ended) return;
    ended = true;
    ext.finish();
    if (statusTimer !== null) clearTimeout(statusTimer);
    const st = status();
    for (const w of clients) {
      send(w, { type: 'end', status: st }, true);
      w.ws.close(1000, `run ${st.state}`);
    }
    resolveDone(st);
  };
  const reject = (w: Watcher, id: string | number | undefined, what: string, err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    const g = e instanceof GibbsError ? e : null;
    send(
      w,
      {
        type: 'rejected',
        id,
        message: e.message.startsWith(`${what}:`) ? e.message : `${what}: ${e.message}`,
        ...(g?.field !== undefined ? { field: g.field } : {}),
        ...(g?.expected !== undefined ? { expected: g.expected } : {}),
      },
      true,
    );
  };

  type Request =
    | ClientMessage
    | { type: 'act'; id?: string | number; actions: Int32Array; lengths?: number[] };
  const execute = (w: Watcher, m: Request): void => {
    if (m.type === 'reset' || m.type === 'act') {
      let out: StepOutput;
      try {
        out =
          m.type === 'reset'
            ? ext.reset(m.seed)
            : ext.act(m.actions, 'lengths' in m ? m.lengths : undefined);
      } catch (err) {
        if (err instanceof GibbsError || ended) {
          reject(w, m.id, m.type, err);
          return;
        }
        // The environment itself broke: its state can no longer be trusted.
        failure = toRunError(err, ext.runStep + 1);
        for (const c of clients) send(c, { type: 'error', error: failure }, true);
        end();
        return;
      }
      if (w.ws.readyState === w.ws.OPEN)
        w.ws.send(
          encodeObservation(out, env.spec, {
            id: m.id,
            runStep: ext.runStep,
            episode: ext.episode,
          }),
        );
      sendFrames();
      if (ext.state === 'finished') end();
      else statusSoon();
      return;
    }
    try {
      switch (m.type) {
        case 'finish':
          send(w, { type: 'ack', id: m.id, request: 'finish' }, true);
          end();
          return;
        case 'frames':
          w.maxFps = m.maxFps;
          send(w, { type: 'ack', id: m.id, request: 'frames' }, true);
          return;
        case 'snapshot': {
          const frame = ext.last ? env.render() : null;
          send(
            w,
            { type: 'snapshot', id: m.id, status: status(), metrics: null, frame: !!frame },
            true,
          );
          if (frame && w.ws.readyState === w.ws.OPEN)
            w.ws.send(encodeFrame(frame, ext.runStep, m.id ?? 'snapshot'));
          return;
        }
        default:
          throw new GibbsError(
            `an external run steps on its clients' act messages only`,
            'type',
            m.type,
            'reset, act, finish, frames or snapshot',
          );
      }
    } catch (err) {
      reject(w, m.id, m.type, err);
    }
  };

  wss.on('connection', (ws) => {
    const w = newWatcher(ws, serverFps);
    w.onDrop = () => {
      clients.delete(w);
    };
    ws.on('error', () => onSocketError(ws));
    ws.on('close', w.onDrop);
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        if (!admit(w, 'act', undefined, maxBufferedBytes)) return;
        const bytes = new Uint8Array(rawBytes(data));
        if (!isActionMessage(bytes)) {
          send(
            w,
            {
              type: 'rejected',
              message: 'binary messages other than actions ("GBA1") are not accepted',
              field: 'message',
              expected: 'a JSON text message or binary actions',
            },
            true,
          );
          return;
        }
        let decoded: ReturnType<typeof decodeActions>;
        try {
          decoded = decodeActions(bytes);
        } catch (err) {
          reject(w, undefined, 'act', err);
          return;
        }
        execute(w, {
          type: 'act',
          id: decoded.id,
          actions: decoded.body,
          lengths: decoded.lengths,
        });
        return;
      }
      const parsed = parseClientMessage(rawText(data));
      const what = parsed.ok ? parsed.message.type : 'message';
      if (!admit(w, what, parsed.ok ? parsed.message.id : parsed.id, maxBufferedBytes)) return;
      if (!parsed.ok) {
        const { ok: _ok, ...rest } = parsed;
        send(w, { type: 'rejected', ...rest }, true);
        return;
      }
      execute(w, parsed.message);
    });
    clients.add(w);
    send(
      w,
      {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        info,
        status: status(),
        maxFps: w.maxFps,
        external: spec,
      },
      true,
    );
    if (ended) {
      send(w, { type: 'end', status: status() }, true);
      ws.close(1000, `run ${status().state}`);
    }
  });

  const { url, port } = await listen();
  const host = opts.host ?? '127.0.0.1';
  return {
    url,
    host,
    port,
    external: ext,
    done,
    get clients() {
      return clients.size;
    },
    bufferedBytes: () => {
      let n = 0;
      for (const w of clients) n += w.ws.bufferedAmount;
      return n;
    },
    close: async () => {
      end();
      await shutdown(() => [...sockets]);
    },
  };
}

export interface LiveRunOptions extends ServeOptions {
  experiment: Experiment;
  params: Record<string, unknown>;
  seed: number;
  steps: number;
  logEvery: number;
  /** Wait for a watcher to resume (or step) the run instead of running at once. */
  paused?: boolean;
}

/**
 * Serve a run that someone else's loop drives (the CLI's executeRun): returns the hooks to give
 * runSimulation; their onEnd finishes the run for the watchers and closes the server.
 */
export async function serveLiveRun(
  sim: Simulation,
  opts: LiveRunOptions,
): Promise<{ server: RunServer; handle: SimulationHandle; hooks: RunHooks }> {
  const engine = new SimulationEngine(opts.experiment, opts.params, {
    seed: opts.seed,
    steps: opts.steps,
    logEvery: opts.logEvery,
    paused: opts.paused ?? false,
  });
  engine.attach(sim);
  const handle = new EngineHandle(createEngineRpc(undefined, engine), engine.info, {
    maxFps: opts.maxFps,
  });
  const server = await serveRun(handle, opts);
  return {
    server,
    handle,
    hooks: {
      ...engine.hooks,
      onEnd: async (err?: unknown) => {
        if (err === undefined) engine.finish();
        else engine.fail(err);
        await handle.done;
        await server.close();
      },
    },
  };
}
