/**
 * The page's keyboard shortcuts: one table, from which both the key bindings and the help
 * overlay's list are made, so the help always says what the keys do.
 */
import { filter, fromEvent, type Subscription } from 'rxjs';

export type KeyAction =
  | 'play'
  | 'step'
  | 'faster'
  | 'slower'
  | 'reset'
  | 'fit'
  | 'follow'
  | 'nudgeDown'
  | 'nudgeUp'
  | 'agents'
  | 'record'
  | 'snapshot'
  | 'escape'
  | 'help';

export interface KeyRow {
  /** Each key (KeyboardEvent.key) of the row and what it does. */
  readonly bind: Readonly<Record<string, KeyAction>>;
  /** The keys as the help shows them, in order. */
  readonly shown: readonly string[];
  readonly what: string;
}

export const KEYS: readonly KeyRow[] = [
  { bind: { ' ': 'play' }, shown: ['space'], what: 'play / pause' },
  { bind: { '.': 'step', n: 'step' }, shown: ['.', 'n'], what: 'one step' },
  {
    bind: { '+': 'faster', '=': 'faster', '-': 'slower' },
    shown: ['+', '-'],
    what: 'faster / slower (1 to 240 steps per second, or max)',
  },
  {
    bind: { r: 'reset' },
    shown: ['r'],
    what: 'reset: create the experiment anew with this seed and these parameters',
  },
  { bind: { '0': 'fit' }, shown: ['0'], what: 'fit the world in view' },
  { bind: { f: 'follow' }, shown: ['f'], what: 'follow the selected agent' },
  {
    bind: { '[': 'nudgeDown', ']': 'nudgeUp' },
    shown: ['[', ']'],
    what: 'nudge the first live parameter down / up by 5 %',
  },
  { bind: { a: 'agents' }, shown: ['a'], what: 'agents drawn one by one: auto / on / off' },
  { bind: { v: 'record' }, shown: ['v'], what: 'record the stage to WebM / stop and download it' },
  { bind: { s: 'snapshot' }, shown: ['s'], what: 'snapshot: download the stage as a PNG' },
  { bind: { Escape: 'escape' }, shown: ['Esc'], what: 'unselect the agent, close this help' },
  { bind: { '?': 'help' }, shown: ['?'], what: 'this help' },
];

const ACTION_OF: ReadonlyMap<string, KeyAction> = new Map(
  KEYS.flatMap((row) => Object.entries(row.bind)),
);

/** Keys typed into a form field, or with Ctrl/Cmd, belong to the field or the browser. */
function forThePage(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  const tag = t?.tagName;
  return !(tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || e.ctrlKey || e.metaKey);
}

/** Run each shortcut's action on its key; unsubscribe to stop. */
export function bindKeys(
  target: Window,
  run: Readonly<Record<KeyAction, () => void>>,
): Subscription {
  return fromEvent<KeyboardEvent>(target, 'keydown')
    .pipe(filter((e) => forThePage(e) && ACTION_OF.has(e.key)))
    .subscribe((e) => {
      e.preventDefault();
      run[ACTION_OF.get(e.key) as KeyAction]();
    });
}

/** Fill the help overlay's table with one row per shortcut. */
export function renderKeyTable(table: HTMLTableElement): void {
  table.replaceChildren(
    ...KEYS.map((row) => {
      const tr = document.createElement('tr');
      const keys = document.createElement('td');
      row.shown.forEach((k, i) => {
        if (i > 0) keys.append(' ');
        const kbd = document.createElement('kbd');
        kbd.textContent = k;
        keys.append(kbd);
      });
      const what = document.createElement('td');
      what.textContent = row.what;
      tr.append(keys, what);
      return tr;
    }),
  );
}
