/**
 * The view transform: screen = world * scale + offset, one world unit per cell. Pure arithmetic,
 * shared by the renderer, the input handlers and the tests.
 */
export interface CameraState {
  scale: number;
  x: number;
  y: number;
}

export const MIN_SCALE = 1 / 64;
export const MAX_SCALE = 256;

export function clampScale(s: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));
}

/** Fit a world of `w x h` cells centred in a `vw x vh` viewport. */
export function fitCamera(w: number, h: number, vw: number, vh: number): CameraState {
  const scale = clampScale(Math.min(vw / Math.max(1, w), vh / Math.max(1, h)));
  return { scale, x: (vw - w * scale) / 2, y: (vh - h * scale) / 2 };
}

/** Zoom by `factor` keeping the world point under screen point (sx, sy) fixed. */
export function zoomAt(c: CameraState, sx: number, sy: number, factor: number): CameraState {
  const scale = clampScale(c.scale * factor);
  const wx = (sx - c.x) / c.scale;
  const wy = (sy - c.y) / c.scale;
  return { scale, x: sx - wx * scale, y: sy - wy * scale };
}

/** Centre world point (wx, wy) in a `vw x vh` viewport. */
export function centreOn(
  c: CameraState,
  wx: number,
  wy: number,
  vw: number,
  vh: number,
): CameraState {
  return { scale: c.scale, x: vw / 2 - wx * c.scale, y: vh / 2 - wy * c.scale };
}

export function screenToWorld(c: CameraState, sx: number, sy: number): [number, number] {
  return [(sx - c.x) / c.scale, (sy - c.y) / c.scale];
}

export function worldToScreen(c: CameraState, wx: number, wy: number): [number, number] {
  return [wx * c.scale + c.x, wy * c.scale + c.y];
}
