/**
 * Pointer gestures on the stage: wheel zooms about the cursor, a drag pans, two fingers pinch and
 * pan; a press that barely moved is a click, and a move with no button down a hover.
 */

export interface GestureTarget {
  pan(dx: number, dy: number): void;
  /** Zoom by `factor` about (x, y) in stage pixels. */
  zoom(x: number, y: number, factor: number): void;
}

export interface GestureHandlers {
  hover(e: PointerEvent): void;
  click(e: PointerEvent): void;
}

/** A press that moved less than this many pixels in all is a click. */
const CLICK_SLOP = 4;

export function attachGestures(stage: HTMLElement, view: GestureTarget, on: GestureHandlers): void {
  const pointers = new Map<number, { x: number; y: number }>();
  let dragged = 0;

  stage.addEventListener('pointerdown', (e) => {
    try {
      stage.setPointerCapture(e.pointerId);
    } catch {
      // A pointer the browser no longer tracks (or a synthetic one): no capture, still usable.
    }
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    dragged = 0;
  });
  stage.addEventListener('pointermove', (e) => {
    const prev = pointers.get(e.pointerId);
    if (!prev) {
      on.hover(e);
      return;
    }
    const r = stage.getBoundingClientRect();
    if (pointers.size === 2) {
      // Two fingers: the midpoint pans (it moves by half this finger's move), the change of
      // distance between them zooms about the midpoint.
      const [a, b] = [...pointers.values()];
      const other = a === prev ? b : a;
      const before = Math.hypot(prev.x - other.x, prev.y - other.y);
      const after = Math.hypot(e.clientX - other.x, e.clientY - other.y);
      view.pan((e.clientX - prev.x) / 2, (e.clientY - prev.y) / 2);
      if (before > 0)
        view.zoom(
          (e.clientX + other.x) / 2 - r.left,
          (e.clientY + other.y) / 2 - r.top,
          after / before,
        );
    } else view.pan(e.clientX - prev.x, e.clientY - prev.y);
    dragged += Math.abs(e.clientX - prev.x) + Math.abs(e.clientY - prev.y);
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
  });
  const release = (e: PointerEvent) => {
    const wasClick = pointers.size === 1 && dragged < CLICK_SLOP;
    pointers.delete(e.pointerId);
    if (wasClick && e.type === 'pointerup') on.click(e);
  };
  stage.addEventListener('pointerup', release);
  stage.addEventListener('pointercancel', release);
  stage.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const r = stage.getBoundingClientRect();
      view.zoom(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
    },
    { passive: false },
  );
}
