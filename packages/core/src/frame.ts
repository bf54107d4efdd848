/**
 * A render frame: what the viewer needs to draw one step, in flat typed arrays so that it can cross
 * to the main thread without copying (every buffer is transferable).
 */
export interface RenderFrame {
  readonly step: number;
  readonly episode: number;
  /** Grid size in cells (0 x 0 for a non-spatial world). */
  readonly width: number;
  readonly height: number;
  /** width * height cell codes, row-major (index y * width + x); meanings in `legend`. */
  readonly cells: Uint8Array;
  /** legend[code] names a cell code: 0 is "empty"; an agent's cell uses its group's code. */
  readonly legend: readonly string[];
  /** Group names, in spec order; agents.group indexes this. */
  readonly groups: readonly string[];
  readonly agents: AgentsFrame;
}

/** Live agents, one entry each (struct of arrays, `count` long). */
export interface AgentsFrame {
  readonly count: number;
  readonly group: Uint8Array;
  readonly slot: Int32Array;
  /**
   * Position in cells: in a grid world the agent's cell column and row (its top-left corner, so
   * `Math.floor(x)` is the cell); a world with continuous positions may use fractions.
   */
  readonly x: Float32Array;
  readonly y: Float32Array;
  /** Health normalised to [0, 1] (1 for worlds without health). */
  readonly hp: Float32Array;
  /** Direction of the last move in radians (NaN when the agent has not moved). */
  readonly heading: Float32Array;
  /** Last action taken (-1 before the first). */
  readonly action: Int16Array;
  readonly reward: Float32Array;
}

/** Allocate an empty agents frame of `count` entries. */
export function allocAgentsFrame(count: number): AgentsFrame {
  return {
    count,
    group: new Uint8Array(count),
    slot: new Int32Array(count),
    x: new Float32Array(count),
    y: new Float32Array(count),
    hp: new Float32Array(count),
    heading: new Float32Array(count),
    action: new Int16Array(count),
    reward: new Float32Array(count),
  };
}

/** Every ArrayBuffer in a frame, for `postMessage`/`Comlink.transfer`. */
export function frameTransferables(frame: RenderFrame): ArrayBuffer[] {
  const a = frame.agents;
  const views: ArrayBufferView[] = [
    frame.cells,
    a.group,
    a.slot,
    a.x,
    a.y,
    a.hp,
    a.heading,
    a.action,
    a.reward,
  ];
  const out = new Set<ArrayBuffer>();
  for (const v of views) if (v.buffer instanceof ArrayBuffer) out.add(v.buffer);
  return [...out];
}
