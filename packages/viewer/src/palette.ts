/**
 * Colours of cell codes and groups. A frame's legend names each cell code; the colour of a name
 * is fixed (so that screenshots of a seeded world are predictable): well-known names get their own
 * colour, group codes get the group palette, anything else a colour hashed from its name.
 */

/** Packed 0xAABBGGRR (little-endian RGBA bytes), the layout of a Uint32Array view over RGBA. */
export type Rgba32 = number;

export const GROUP_COLOURS: readonly [number, number, number][] = [
  [230, 57, 70], // red
  [69, 123, 230], // blue
  [46, 196, 120], // green
  [244, 162, 39], // orange
  [157, 78, 221], // purple
  [0, 180, 200], // cyan
  [240, 98, 200], // pink
  [180, 180, 60], // olive
];

const NAMED: Record<string, [number, number, number]> = {
  empty: [18, 20, 26],
  wall: [110, 110, 120],
  obstacle: [110, 110, 120],
  food: [120, 200, 80],
  reward: [250, 210, 60],
  cue: [90, 200, 250],
  up: [245, 245, 245],
  down: [30, 30, 40],
  'spin up': [240, 236, 220],
  'spin down': [40, 60, 110],
  centre: [70, 70, 80],
  arm: [50, 50, 60],
  '+1': [245, 245, 245],
  '-1': [30, 30, 40],
  red: GROUP_COLOURS[0],
  blue: GROUP_COLOURS[1],
  green: GROUP_COLOURS[2],
};

/** RGB of a group by its index in the frame's group list. */
export function groupColour(index: number): [number, number, number] {
  return GROUP_COLOURS[index % GROUP_COLOURS.length];
}

/** RGB of a legend entry: group codes take their group's colour. */
export function legendColour(
  name: string,
  code: number,
  groups: readonly string[],
): [number, number, number] {
  if (code === 0) return NAMED.empty;
  const g = groups.indexOf(name);
  if (g >= 0) return groupColour(g);
  const named = NAMED[name.toLowerCase()];
  if (named) return named;
  // FNV-1a of the name to a mid-bright colour, stable across runs.
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h >>>= 0;
  return [80 + (h & 0x7f), 80 + ((h >>> 8) & 0x7f), 80 + ((h >>> 16) & 0x7f)];
}

export function packRgba(r: number, g: number, b: number, a = 255): Rgba32 {
  return ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** A 256-entry lookup table from cell code to packed RGBA for one legend. */
export function paletteFor(legend: readonly string[], groups: readonly string[]): Uint32Array {
  const lut = new Uint32Array(256);
  const fallback = packRgba(255, 0, 255);
  lut.fill(fallback);
  for (let code = 0; code < legend.length && code < 256; code++) {
    const [r, g, b] = legendColour(legend[code], code, groups);
    lut[code] = packRgba(r, g, b);
  }
  return lut;
}

/** Cell codes to RGBA texels: the whole per-frame CPU cost of the one-texture path. */
export function paintCells(cells: Uint8Array, lut: Uint32Array, out: Uint32Array): void {
  const n = Math.min(cells.length, out.length);
  for (let i = 0; i < n; i++) out[i] = lut[cells[i]];
}

export function cssColour([r, g, b]: readonly number[]): string {
  return `rgb(${r}, ${g}, ${b})`;
}
