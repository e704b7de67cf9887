/** What the user has chosen to see, and how each key changes it. No blessed, no I/O. */

export type PaneId = 'commands' | 'keys' | 'slow' | 'clients' | 'latency';

/** Panes `tab` moves between, in screen order. */
export const FOCUSABLE: readonly PaneId[] = ['commands', 'keys', 'clients', 'slow', 'latency'];

export const COMMAND_SORTS = ['count', 'p99', 'errors'] as const;
export const KEY_SORTS = ['count', 'bytes'] as const;
export const CLIENT_SORTS = ['commands', 'connections'] as const;
export const SLOW_SORTS = ['newest', 'latency'] as const;

export interface ViewState {
  paused: boolean;
  focus: PaneId;
  commandSort: (typeof COMMAND_SORTS)[number];
  keySort: (typeof KEY_SORTS)[number];
  clientSort: (typeof CLIENT_SORTS)[number];
  /** The clients pane by IP, or by application (report.apps). */
  clientView: 'ip' | 'app';
  slowSort: (typeof SLOW_SORTS)[number];
  /** Command name or key prefix; '' = none. */
  filter: string;
  /** Command whose latency the latency pane shows; null = all commands. */
  selected: string | null;
  help: boolean;
  /** Text typed after `/`, or null when the prompt is closed. */
  prompt: string | null;
}

export function initialState(): ViewState {
  return {
    paused: false, focus: 'commands', commandSort: 'count', keySort: 'count', clientSort: 'commands', clientView: 'ip', slowSort: 'newest',
    filter: '', selected: null, help: false, prompt: null,
  };
}

/** What the screen must do after a key. */
export type KeyEffect = 'quit' | 'clear' | 'refresh' | 'redraw' | 'none';

/** The parts of a blessed keypress this module looks at. */
export interface KeyPress {
  ch: string | undefined;
  /** blessed's `key.full`: 'q', 'C-c', 'tab', 'enter', 'S-tab', '?'. */
  full: string;
}

function next<T>(list: readonly T[], cur: T, step = 1): T {
  const i = list.indexOf(cur);
  return list[(i + step + list.length) % list.length]!;
}

function cycleSort(s: ViewState): void {
  switch (s.focus) {
    case 'commands':
      s.commandSort = next(COMMAND_SORTS, s.commandSort);
      break;
    case 'keys':
      s.keySort = next(KEY_SORTS, s.keySort);
      break;
    case 'clients':
      s.clientSort = next(CLIENT_SORTS, s.clientSort);
      break;
    case 'slow':
      s.slowSort = next(SLOW_SORTS, s.slowSort);
      break;
    case 'latency':
      break;
  }
}

function promptKey(s: ViewState, k: KeyPress): KeyEffect {
  const text = s.prompt ?? '';
  switch (k.full) {
    case 'enter':
    case 'linefeed':
      s.filter = text.trim();
      s.prompt = null;
      return 'redraw';
    case 'escape':
      s.prompt = null;
      return 'redraw';
    case 'backspace':
      s.prompt = text.slice(0, -1);
      return 'redraw';
    case 'C-u':
      s.prompt = '';
      return 'redraw';
    default:
      // Printable characters only (no C0, DEL or C1); 'return' follows 'enter' for the same key and is ignored.
      if (k.ch !== undefined && k.ch.length === 1 && !/[\u0000-\u001f\u007f-\u009f]/.test(k.ch) && k.full !== 'return') {
        s.prompt = text + k.ch;
        return 'redraw';
      }
      return 'none';
  }
}

/**
 * Applies one key. `commandOrder` is the commands pane's rows as shown, for moving the
 * selection with the arrow keys.
 */
export function applyKey(s: ViewState, k: KeyPress, commandOrder: readonly string[]): KeyEffect {
  if (k.full === 'C-c') return 'quit';
  if (s.prompt !== null) return promptKey(s, k);
  if (s.help) {
    if (k.full === 'q') return 'quit';
    s.help = false;
    return 'redraw';
  }
  switch (k.full) {
    case 'q':
      return 'quit';
    case 'p':
      s.paused = !s.paused;
      return s.paused ? 'redraw' : 'refresh';
    case 'tab':
      s.focus = next(FOCUSABLE, s.focus);
      return 'redraw';
    case 'S-tab':
      s.focus = next(FOCUSABLE, s.focus, -1);
      return 'redraw';
    case 's':
      cycleSort(s);
      return 'redraw';
    case 'b':
      s.keySort = s.keySort === 'bytes' ? 'count' : 'bytes';
      return 'redraw';
    case 'a':
      s.clientView = s.clientView === 'app' ? 'ip' : 'app';
      return 'redraw';
    case '/':
      s.prompt = '';
      return 'redraw';
    case 'c':
      return 'clear';
    case '?':
      s.help = true;
      return 'redraw';
    case 'escape':
      if (s.selected === null && s.filter === '') return 'none';
      s.selected = null;
      s.filter = '';
      return 'redraw';
    case 'up':
    case 'down':
    case 'k':
    case 'j':
      return moveSelection(s, k.full === 'up' || k.full === 'k' ? -1 : 1, commandOrder);
    default:
      return 'none';
  }
}

/** Moves the commands pane's selection; above the first row means "all commands". */
function moveSelection(s: ViewState, step: number, order: readonly string[]): KeyEffect {
  if (s.focus !== 'commands' || order.length === 0) return 'none';
  const at = s.selected === null ? -1 : order.indexOf(s.selected);
  const to = Math.max(-1, Math.min(order.length - 1, at + step));
  s.selected = to < 0 ? null : order[to]!;
  return 'redraw';
}

export const HELP_LINES: readonly string[] = [
  'q, Ctrl-C   quit (the final report is printed)',
  'p           pause / resume the display (capture goes on)',
  'tab         focus the next pane (shift-tab: previous)',
  's           sort the focused pane: commands count/p99/errors,',
  '            keys count/bytes, clients commands/connections,',
  '            slow newest/latency',
  'b           hot keys by count / by bytes',
  'a           clients by IP / by application',
  '↑ ↓  j k    select a command (Commands pane): its latency',
  '/           filter: a command name, or a key prefix; empty clears',
  'esc         clear the filter and the selection',
  'c           clear all counters',
  '?           this help; any key closes it',
];
