/**
 * A CLI run served with `pnpm gibbs run <experiment> --serve HOST:PORT`, watched over a WebSocket
 * (protocol: core/src/runtime/protocol.ts). Controls go out as JSON with an id and come back as
 * `ack` or `rejected`; frames come in as binary messages at the pace this client asks for, and the
 * viewer keeps only the newest one. A server that goes away ends the source with a message.
 */

import {
  type AgentInspection,
  type EpisodeSummary,
  GibbsError,
  type MetricRecord,
  type RenderFrame,
} from '@gibbs/core';
import {
  type ClientMessage,
  decodeFrame,
  parseServerMessage,
  type ServerMessage,
} from '@gibbs/core/runtime/protocol';
import type { RunInfo, RunStatus } from '@gibbs/core/runtime/types';
import { ReplaySubject, Subject } from 'rxjs';
import { inspectFromFrame } from './inspector.ts';
import type { LiveParam, SimSource, SourceStatus } from './source.ts';
import { liveParamOf, RateMeter, syncLive, toSourceStatus } from './worker-source.ts';

const CONNECT_TIMEOUT_MS = 8000;
/** Frames per second asked of the server. */
const MAX_FPS = 30;

/** Check an attach address: ws:// or wss:// with a host and a port (ws:// may be left out). */
export function parseAddress(address: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(address) ? address : `ws://${address}`);
  } catch {
    throw GibbsError.invalid(
      'attach address',
      address,
      'ws://HOST:PORT (e.g. ws://127.0.0.1:8765)',
    );
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw GibbsError.invalid('attach address', address, 'a ws:// or wss:// address');
  }
  if (!url.port) throw GibbsError.invalid('attach address', address, 'an address with a port');
  return url;
}

/** Numbers JSON could not carry arrive as null: back to NaN for the charts. */
function revive(values: Record<string, number | null>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) out[k] = v ?? Number.NaN;
  return out;
}

type Pending = { resolve: () => void; reject: (err: Error) => void };

export class RemoteSource implements SimSource {
  readonly kind = 'remote' as const;
  readonly frames$ = new Subject<RenderFrame>();
  readonly metrics$ = new Subject<readonly MetricRecord[]>();
  readonly status$ = new ReplaySubject<SourceStatus>(1);
  readonly episodes$ = new Subject<readonly EpisodeSummary[]>();
  readonly errors$ = new Subject<string>();
  private readonly live: LiveParam[];
  private readonly pending = new Map<number, Pending>();
  private readonly inspections = new Map<number, (i: AgentInspection | null) => void>();
  private readonly rate = new RateMeter();
  private nextId = 1;
  private last: RenderFrame | null = null;
  private runStatus: RunStatus;
  private closedByUs = false;
  private ended: string | null = null;

  private constructor(
    private readonly ws: WebSocket,
    readonly address: string,
    private readonly info: RunInfo,
    status: RunStatus,
  ) {
    this.runStatus = status;
    this.live = info.liveParams.map((p) =>
      liveParamOf(p.name, p.schema, status.params[p.name] ?? info.params[p.name]),
    );
    ws.onmessage = (ev) => this.receive(ev.data as ArrayBuffer | string);
    ws.onclose = (ev) => this.closed(ev.code, ev.reason);
    this.publish();
    this.send({ type: 'frames', maxFps: MAX_FPS });
  }

  /** Connect and wait for the server's hello; a GibbsError that says what went wrong otherwise. */
  static connect(address: string): Promise<RemoteSource> {
    const url = parseAddress(address);
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.onclose = null;
        ws.close();
        reject(
          new GibbsError(
            `attach ${url.href}: ${why}`,
            'attach address',
            address,
            'the address a `pnpm gibbs run ... --serve` printed',
          ),
        );
      };
      const timer = setTimeout(
        () => fail(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`),
        CONNECT_TIMEOUT_MS,
      );
      ws.onerror = () => fail('could not connect (is a run served there with --serve?)');
      ws.onclose = (ev) => fail(`the server closed the connection (code ${ev.code})`);
      ws.onmessage = (ev) => {
        if (typeof ev.data !== 'string') return;
        let msg: ServerMessage;
        try {
          msg = parseServerMessage(ev.data);
        } catch {
          fail('the server does not speak the Gibbs run protocol (or another version of it)');
          return;
        }
        if (msg.type !== 'hello') return;
        settled = true;
        clearTimeout(timer);
        ws.onerror = null;
        resolve(new RemoteSource(ws, url.href, msg.info as RunInfo, msg.status as RunStatus));
      };
    });
  }

  liveParams(): readonly LiveParam[] {
    return this.live;
  }

  get experiment(): string {
    return this.info.experiment;
  }

  get seed(): number {
    return this.info.seed;
  }

  play(): void {
    void this.control({ type: 'resume' }).catch(() => {});
  }

  pause(): void {
    void this.control({ type: 'pause' }).catch(() => {});
  }

  async step(n: number): Promise<void> {
    try {
      await this.control({ type: 'step', n });
    } catch {
      return;
    }
    // The server paces frames per watcher and may skip the one of this step; the run is paused
    // now, so ask for a snapshot: its frame (a binary message) shows exactly where it stands.
    this.send({ type: 'snapshot', id: this.nextId++ });
  }

  setSpeed(stepsPerSecond: number): void {
    void this.control({
      type: 'speed',
      stepsPerSecond: stepsPerSecond > 0 ? stepsPerSecond : null,
    }).catch(() => {});
  }

  async setParam(name: string, value: number | boolean | string): Promise<void> {
    try {
      await this.control({ type: 'setParam', name, value });
    } catch {
      return; // refused or not sent: errors$ said why
    }
    const p = this.live.find((l) => l.name === name);
    if (p) p.value = value;
  }

  requestFrame(): void {
    // The server paces frames for this client; the view keeps only the newest.
  }

  /** The run's own inspection (protocol `inspect`); what the frame holds if the server refuses. */
  async inspect(group: number, slot: number): Promise<AgentInspection | null> {
    const id = this.nextId++;
    const answer = new Promise<AgentInspection | null>((resolve, reject) => {
      this.inspections.set(id, resolve);
      this.pending.set(id, { resolve: () => {}, reject });
    });
    if (!this.send({ type: 'inspect', id, group, slot })) {
      this.inspections.delete(id);
      this.pending.delete(id);
      return inspectFromFrame(this.last, group, slot);
    }
    try {
      return await answer;
    } catch {
      return inspectFromFrame(this.last, group, slot);
    } finally {
      this.inspections.delete(id);
    }
  }

  dispose(): void {
    this.closedByUs = true;
    this.ws.close(1000, 'viewer left');
    for (const p of this.pending.values()) p.reject(new Error('detached'));
    this.pending.clear();
  }

  private send(msg: ClientMessage): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Send a control and wait for its ack; a rejection becomes a message in the page. */
  private control(msg: ClientMessage): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      if (!this.send({ ...msg, id } as ClientMessage)) {
        const why = `not connected to ${this.address}: ${msg.type} was not sent`;
        this.errors$.next(why);
        reject(new Error(why));
        return;
      }
      this.pending.set(id, { resolve, reject });
    });
  }

  private receive(data: ArrayBuffer | string): void {
    if (typeof data !== 'string') {
      try {
        const { frame } = decodeFrame(data);
        this.last = frame;
        this.frames$.next(frame);
      } catch (err) {
        this.errors$.next(
          `a frame from ${this.address} could not be read: ${(err as Error).message}`,
        );
      }
      return;
    }
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(data);
    } catch {
      this.errors$.next(`${this.address} sent a message this viewer does not understand`);
      return;
    }
    switch (msg.type) {
      case 'status':
        this.runStatus = msg.status as RunStatus;
        this.publish();
        break;
      case 'metrics':
        this.metrics$.next(
          msg.records.map((r) => ({
            step: r.step,
            episode: r.episode,
            values: revive(r.values),
            groups: Object.fromEntries(Object.entries(r.groups).map(([g, v]) => [g, revive(v)])),
          })),
        );
        break;
      case 'episodes':
        this.episodes$.next(
          msg.episodes.map((e) => ({
            episode: e.episode,
            step: e.step,
            length: e.length,
            values: revive(e.values),
            groups: Object.fromEntries(Object.entries(e.groups).map(([g, v]) => [g, revive(v)])),
          })),
        );
        break;
      case 'error':
        this.runStatus = { ...this.runStatus, state: 'failed', error: msg.error };
        this.publish();
        break;
      case 'end':
        this.runStatus = msg.status as RunStatus;
        this.ended = `the served run ended (${msg.status.state}) at step ${msg.status.step}`;
        this.publish();
        break;
      case 'inspection': {
        const id = typeof msg.id === 'number' ? msg.id : Number.NaN;
        const ins = msg.inspection;
        this.pending.delete(id);
        this.inspections.get(id)?.(
          ins && {
            ...ins,
            values: revive(ins.values),
            distributions: Object.fromEntries(
              Object.entries(ins.distributions).map(([k, v]) => [k, v.map((x) => x ?? Number.NaN)]),
            ),
          },
        );
        break;
      }
      case 'ack':
      case 'rejected': {
        const id = typeof msg.id === 'number' ? msg.id : Number.NaN;
        const p = this.pending.get(id);
        this.pending.delete(id);
        if (msg.type === 'ack') p?.resolve();
        else {
          this.errors$.next(`${this.address} refused the request: ${msg.message}`);
          p?.reject(new Error(msg.message));
        }
        break;
      }
      default:
        break;
    }
  }

  private closed(code: number, reason: string): void {
    for (const p of this.pending.values()) p.reject(new Error('connection closed'));
    this.pending.clear();
    if (this.closedByUs) return;
    this.ended ??= `the connection to ${this.address} closed (code ${code}${reason ? `: ${reason}` : ''}): the server went away`;
    this.publish();
  }

  private publish(): void {
    syncLive(this.live, this.runStatus.params);
    const s = toSourceStatus('remote', this.info, this.runStatus, 0);
    s.stepsPerSecond = this.rate.update(s.step, s.running);
    if (this.ended) {
      s.running = false;
      s.failed ??= this.ended;
    }
    this.status$.next(s);
  }
}
