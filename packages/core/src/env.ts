/**
 * The environment contract: PettingZoo's Parallel API made for populations.
 *
 * An environment has groups (teams). Each group has a fixed number of agent slots; slot i means the
 * same agent from `reset` until it dies, and dead slots are masked. Everything an agent sees, gets
 * and does lives in flat typed arrays owned by the environment (struct of arrays), overwritten in
 * place on every step: no object or dictionary per agent per step.
 *
 *   await env.ready?.();                       // a world with workers or wasm: set up
 *   const actions = allocActions(env.spec);    // one Int32Array per group, length = capacity
 *   let out = env.reset(seed);                 // observations of the first step
 *   while (!out.done) {
 *     fill(actions);                           // an action in [0, actions) per live slot
 *     out = env.step(actions);                 // observations, rewards, alive, terminations...
 *   }
 *   await env.dispose?.();                     // free its workers
 *
 * `step` checks its actions (`validateActions`: a GibbsError naming the group, slot, value and
 * range) and throws a GibbsError after `done` until the next `reset` (`stepAfterDone`): a loop that
 * misses the end of an episode fails at once instead of playing on in a finished world.
 *
 * Observation of agent i of group g:
 *   view      out.groups[g].view.subarray(i * viewSize, (i + 1) * viewSize)
 *             height x width x channels, channels last (the layout tfjs's conv2d takes), or empty
 *             when the group has no spatial view;
 *   features  out.groups[g].features.subarray(i * F, (i + 1) * F).
 */
import { describeValue, GibbsError } from './errors.ts';
import type { RenderFrame } from './frame.ts';

/** The spatial part of an observation: a window of the world around the agent. */
export interface ViewSpec {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** One name per channel, in storage order (for docs, the checker and the inspector). */
  readonly channelNames: readonly string[];
}

export interface GroupSpec {
  readonly name: string;
  /** Number of agent slots (the most agents this group can have). */
  readonly capacity: number;
  /** Spatial view, or null for a group whose observation is only a feature vector. */
  readonly view: ViewSpec | null;
  /** Length of the feature vector (0 allowed). */
  readonly features: number;
  /** Number of discrete actions; valid actions are 0 .. actions-1. */
  readonly actions: number;
  /** Optional names of the actions, for the inspector. */
  readonly actionNames?: readonly string[];
}

export interface EnvSpec {
  /** Registry name of the environment, e.g. "battle". */
  readonly name: string;
  readonly groups: readonly GroupSpec[];
  /** Steps after which an episode is truncated. */
  readonly maxSteps: number;
  /** Size of the world's grid in cells, or null for a non-spatial world. */
  readonly grid: { readonly width: number; readonly height: number } | null;
  /**
   * True when a dead slot may hold a new agent later in the same episode (respawning worlds).
   * Absent or false: once dead, a slot stays dead until reset (the checker enforces this).
   */
  readonly respawn?: boolean;
}

/** One group's share of a step's output. Buffers are owned by the environment and reused. */
export interface GroupStep {
  /** capacity * viewSize floats (see the module comment); length 0 without a view. */
  readonly view: Float32Array;
  /** capacity * features floats. */
  readonly features: Float32Array;
  /** Reward of each slot for the last step (0 for slots dead before it). */
  readonly reward: Float32Array;
  /** 1 where the slot holds a live agent after the last step. */
  readonly alive: Uint8Array;
  /** 1 where the agent's episode ended by the rules on the last step (it died, or the game ended). */
  readonly terminated: Uint8Array;
  /** 1 where the agent's episode was cut by the time limit on the last step. */
  readonly truncated: Uint8Array;
}

export interface StepOutput {
  readonly groups: readonly GroupStep[];
  /** Steps taken since the last reset (0 right after reset). */
  readonly step: number;
  /** True when the episode is over: every agent terminated or truncated; call reset next. */
  readonly done: boolean;
  /** Counters of the last step (kills, food eaten...), flat names such as "kills.red". */
  readonly info: Readonly<Record<string, number>>;
}

export interface Environment {
  readonly spec: EnvSpec;
  /** Start an episode. The environment owns a PRNG seeded here: one seed, one trajectory. */
  reset(seed: number): StepOutput;
  /**
   * Advance one step. `actions[g]` is an Int32Array of length `spec.groups[g].capacity`; entries of
   * dead slots are ignored, entries of live slots must lie in [0, actions). Throws a GibbsError
   * naming the group, slot and value otherwise (`validateActions`), and a GibbsError saying to call
   * reset when the last output was `done` (`stepAfterDone`).
   */
  step(actions: readonly Int32Array[]): StepOutput;
  /** A picture of the current state for the viewer (fresh buffers: safe to transfer). */
  render(): RenderFrame;
  /**
   * Resolves when the world's workers or wasm are set up, for a world that starts them in its
   * constructor (Battle with threads). Callers await it, when present, before the first reset.
   */
  ready?(): Promise<void>;
  /** Frees the world's workers or threads; the environment is not used afterwards. */
  dispose?(): Promise<void>;
}

/** Floats in one agent's view (0 without a view). */
export function viewSize(group: GroupSpec): number {
  return group.view ? group.view.height * group.view.width * group.view.channels : 0;
}

/** Allocate the buffers of one group's step output. */
export function allocGroupStep(group: GroupSpec): GroupStep {
  const n = group.capacity;
  return {
    view: new Float32Array(n * viewSize(group)),
    features: new Float32Array(n * group.features),
    reward: new Float32Array(n),
    alive: new Uint8Array(n),
    terminated: new Uint8Array(n),
    truncated: new Uint8Array(n),
  };
}

/** Allocate one Int32Array of actions per group, sized to the spec. */
export function allocActions(spec: EnvSpec): Int32Array[] {
  return spec.groups.map((g) => new Int32Array(g.capacity));
}

/**
 * The contract's check of `step`'s actions, for a world to call first thing in `step`: one
 * Int32Array per group, each of the group's capacity, and on every live slot an integer in
 * [0, actions). Dead slots' entries are ignored. `alive[g]` is group g's alive mask of the last
 * output (before this step); `alive` null, or `alive[g]` null, means every slot is live. Throws a
 * GibbsError naming the group, the slot, the value and the range:
 *
 *   battle: actions[red][17] = 21: expected an integer in [0, 21) for a live slot
 *
 * One pass over the arrays and no allocation unless it throws: Battle calls it for every step of
 * millions of agents.
 */
export function validateActions(
  spec: EnvSpec,
  actions: readonly Int32Array[],
  alive: readonly (Uint8Array | null)[] | null,
): void {
  const groups = spec.groups;
  if (!Array.isArray(actions) || actions.length !== groups.length)
    throw new GibbsError(
      `${spec.name}: actions: got ${Array.isArray(actions) ? `${actions.length} array(s)` : describeValue(actions)}, expected ${groups.length} Int32Array(s), one per group (${groups.map((g) => g.name).join(', ')})`,
      'actions',
      Array.isArray(actions) ? actions.length : actions,
      `${groups.length} Int32Arrays`,
    );
  for (let g = 0; g < groups.length; g++) {
    const a = actions[g];
    const n = groups[g].actions;
    const live = alive === null ? null : alive[g];
    if (!(a instanceof Int32Array) || a.length !== groups[g].capacity)
      throw new GibbsError(
        `${spec.name}: actions[${groups[g].name}]: got ${describeValue(a)}, expected an Int32Array of length ${groups[g].capacity} (the group's capacity)`,
        `actions[${groups[g].name}]`,
        a,
        `an Int32Array of length ${groups[g].capacity}`,
      );
    // An Int32Array holds integers: one unsigned comparison finds both v < 0 and v >= n.
    if (live === null) {
      for (let i = 0; i < a.length; i++) if (a[i] >>> 0 >= n) throw badAction(spec, g, i, a[i]);
    } else {
      for (let i = 0; i < a.length; i++)
        if (a[i] >>> 0 >= n && live[i] !== 0) throw badAction(spec, g, i, a[i]);
    }
  }
}

function badAction(spec: EnvSpec, g: number, slot: number, value: number): GibbsError {
  const field = `actions[${spec.groups[g].name}][${slot}]`;
  const expected = `an integer in [0, ${spec.groups[g].actions}) for a live slot`;
  return new GibbsError(
    `${spec.name}: ${field} = ${value}: expected ${expected}`,
    field,
    value,
    expected,
  );
}

/**
 * The error of `step` called after the episode ended (`done`) and before the next reset: a world
 * throws it instead of playing on. `step` is the step at which the episode ended.
 */
export function stepAfterDone(spec: EnvSpec, step: number): GibbsError {
  return new GibbsError(
    `${spec.name}: step after the episode ended (done at step ${step}); call reset(seed) first`,
    'step',
    step,
    'reset(seed) after done',
  );
}
