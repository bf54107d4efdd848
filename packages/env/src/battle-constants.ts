/**
 * Battle's constants, each defined once: the rules (groups, hp, damage), the actions, the view and
 * features, the cell codes of the occupancy grid, and the bands and tiles that order the step.
 * No imports, so that the worker threads (battle-kernels.ts) load it as quickly as the main thread.
 */

// ---- rules ----------------------------------------------------------------------------------

export const BATTLE_GROUPS = ['red', 'blue'] as const;
export const MAX_HP = 10;
export const DAMAGE = 2;
/** float32 like MAgent's, so hp sums round the same way. */
export const STEP_RECOVER = Math.fround(0.1);
/** Gap between the centre line and each block, as MAgent's generate_map. */
export const BLOCK_GAP = 3;

// ---- actions --------------------------------------------------------------------------------

/** Offsets within a circle, row by row (dy outer, dx inner), as MAgent's CircleRange numbers them. */
export function circle(radius: number, withCentre: boolean): [number, number][] {
  const out: [number, number][] = [];
  const r = Math.floor(radius);
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 <= radius * radius && (withCentre || d2 > 0)) out.push([dx, dy]);
    }
  return out;
}

const MOVES = circle(2, true);
const ATTACKS = circle(1.5, false);
export const N_MOVES = MOVES.length; // 13
export const N_ATTACKS = ATTACKS.length; // 8
/** Moves first (0..12), then attacks (13..20). */
export const N_ACTIONS = N_MOVES + N_ATTACKS; // 21
/** The action that keeps an agent where it is. */
export const STAY = MOVES.findIndex(([dx, dy]) => dx === 0 && dy === 0); // 6
/** Action a moves by (ACTION_DX[a], ACTION_DY[a]) if a < N_MOVES, else attacks that neighbour. */
export const ACTION_DX = Int32Array.from([...MOVES, ...ATTACKS].map(([dx]) => dx));
export const ACTION_DY = Int32Array.from([...MOVES, ...ATTACKS].map(([, dy]) => dy));
/** Direction of each move (radians), the heading render() reports. */
export const MOVE_HEADING = Float32Array.from(MOVES, ([dx, dy]) => Math.atan2(dy, dx));
export const ACTION_NAMES = [
  ...MOVES.map(([dx, dy]) => (dx === 0 && dy === 0 ? 'stay' : `move ${dx},${dy}`)),
  ...ATTACKS.map(([dx, dy]) => `attack ${dx},${dy}`),
];

// ---- observations ---------------------------------------------------------------------------

export const VIEW_RADIUS = 6;
export const VIEW_SIDE = 2 * VIEW_RADIUS + 1;
export const VIEW_CHANNELS = 5;
export const VIEW_SIZE = VIEW_SIDE * VIEW_SIDE * VIEW_CHANNELS;
export const CHANNEL_NAMES = ['obstacle', 'own group', 'own hp', 'other group', 'other hp'];
/** Half-width of the view circle (dx^2 + dy^2 <= 36) on each row: row r spans dx in [-hw, hw]. */
export const VIEW_HALF = Int32Array.from({ length: VIEW_SIDE }, (_, r) => {
  const dy = r - VIEW_RADIUS;
  return Math.floor(Math.sqrt(VIEW_RADIUS * VIEW_RADIUS - dy * dy) + 1e-9);
});
/** One-hot of the last action, the last reward, x / width, y / height. */
export const N_FEATURES = N_ACTIONS + 3;

// ---- the occupancy grid ---------------------------------------------------------------------

/** Codes of a cell that holds no agent (an agent's cell holds its global index). */
export const EMPTY = -1;
export const WALL = -2;

// ---- the order of the step ------------------------------------------------------------------

/**
 * Attacks and moves go band by band, bands of 4 rows: an attack reaches 1 row and a move 2, so
 * bands two apart (5+ rows) never interact.
 */
export const BAND_SHIFT = 2;
/**
 * Tiles order the agents inside a band: 64 cells wide, one band high, since maps are row-major (a
 * tile touches few rows; measured ~1.4x faster than 16 x 16 at 2x100k).
 */
export const TILE_X_SHIFT = 6;
export const TILE_Y_SHIFT = BAND_SHIFT;
