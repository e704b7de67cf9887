/** The blessed screen: boxes placed by the layout, filled from the last snapshot, driven by keys and a timer. */

import blessed from 'blessed';
import type { Report } from '../report.js';
import { esc, labelText } from './fit.js';
import type { TuiOptions, TuiSource } from './index.js';
import { layout, type Layout, type Rect } from './layout.js';
import { clientsPane, commandRows, commandsPane, keysPane, type PaneContext, type PaneText } from './panes.js';
import { RateTracker } from './rates.js';
import { latencyPane, slowPane } from './slow-latency.js';
import { HELP_LINES, applyKey, initialState, type KeyEffect, type PaneId, type ViewState } from './state.js';
import { footerLine, headerLines } from './status.js';

const PANES: ReadonlyArray<[PaneId, (ctx: PaneContext) => PaneText]> = [
  ['commands', commandsPane], ['keys', keysPane], ['clients', clientsPane], ['slow', slowPane], ['latency', latencyPane],
];

/** blessed's screen buffer: per row, per column, [attributes, character]. Not in @types/blessed. */
interface ScreenCells {
  lines: Array<Array<[number, string]>>;
}

type Box = blessed.Widgets.BoxElement;

function place(el: Box, r: Rect | null): void {
  if (r === null) {
    el.hide();
    return;
  }
  el.left = r.left;
  el.top = r.top;
  el.width = r.width;
  el.height = r.height;
  el.show();
}

function message(e: unknown): string {
  return `error: ${e instanceof Error ? e.message : String(e)}`;
}

export class LiveView {
  private readonly screen: blessed.Widgets.Screen;
  private readonly now: () => number;
  private readonly state: ViewState = initialState();
  private readonly rates = new RateTracker();
  private readonly header: Box;
  private readonly footer: Box;
  private readonly help: Box;
  private readonly boxes = new Map<PaneId, Box>();
  private readonly timer: NodeJS.Timeout;
  private report: Report | null = null;
  private startedMs: number;
  /** A failing source or key shows its message on the footer line instead of taking the screen down. */
  private error: string | null = null;
  private closed = false;
  private quitting = false;
  private lay: Layout | null = null;
  private laidFor = '';

  constructor(private readonly source: TuiSource, private readonly opts: TuiOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.startedMs = this.now();
    // @types/blessed declares input as Writable and output as Readable: the other way round.
    this.screen = blessed.screen({
      input: opts.input ?? process.stdin, output: opts.output ?? process.stdout,
      terminal: 'xterm-256color', warnings: false, smartCSR: true, autoPadding: true, fullUnicode: false, forceUnicode: true,
    } as unknown as blessed.Widgets.IScreenOptions);
    // Draw lines as Unicode, not the VT100 alternate charset: under tmux and in captured
    // screens ACS shows up as letters (lqqk), and every terminal we target speaks UTF-8.
    (this.screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
    this.fixSize();
    // A fresh options object per box: blessed keeps it and stores the box's position in it.
    const text = () => ({ parent: this.screen, tags: true, wrap: false });
    this.header = blessed.box(text());
    this.footer = blessed.box(text());
    for (const [id] of PANES) {
      this.boxes.set(id, blessed.box({ ...text(), border: { type: 'line' }, style: { border: { fg: 'gray' }, label: { fg: 'white' } } }));
    }
    this.help = blessed.box({ ...text(), hidden: true, border: { type: 'line' }, label: ' keys ', style: { border: { fg: 'yellow' } } });
    this.screen.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined) => this.onKey(ch, key));
    this.screen.on('resize', () => {
      this.fixSize();
      this.lay = null;
      this.draw();
    });
    this.refresh();
    this.timer = setInterval(() => {
      if (!this.state.paused) this.refresh();
    }, opts.refreshMs ?? 1000);
  }

  /** Takes a new snapshot and redraws. */
  refresh(): void {
    if (this.closed) return;
    try {
      const r = this.source.snapshot();
      this.report = r;
      this.error = null;
      this.rates.update(r, this.now());
    } catch (e) {
      this.error = message(e);
    }
    try {
      this.draw();
    } catch (e) {
      // A report the panes cannot show must not crash the process from a timer.
      this.error = message(e);
    }
  }

  /** Redraws from the last snapshot: keys and resizes come here, without asking the source again. */
  draw(): void {
    if (this.closed) return;
    const { cols, rows } = this.size();
    if (this.lay === null || this.laidFor !== `${cols}x${rows}`) this.relayout(cols, rows);
    const l = this.lay!;
    if (this.report !== null) {
      if (l.header !== null) this.header.setContent(this.headerText(this.report, l.header).join('\n'));
      this.drawPanes(l, this.report);
    }
    if (l.footer !== null) this.footer.setContent(footerLine(this.state, l.footer.width, this.error));
    this.drawHelp(cols, rows);
    this.screen.render();
  }

  get paused(): boolean {
    return this.state.paused;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.screen.destroy();
  }

  screenText(): string[] {
    return (this.screen as unknown as ScreenCells).lines.map((row) => row.map((cell) => cell[1]).join('').trimEnd());
  }

  /** A fixed size (tests) wins over what the output stream says, also after a resize. */
  private fixSize(): void {
    const size = this.opts.size;
    if (size === undefined) return;
    this.screen.program.cols = size.cols;
    this.screen.program.rows = size.rows;
    this.screen.alloc();
  }

  private size(): { cols: number; rows: number } {
    return { cols: Math.max(0, Number(this.screen.width) || 0), rows: Math.max(0, Number(this.screen.height) || 0) };
  }

  private relayout(cols: number, rows: number): void {
    const l = layout(cols, rows);
    this.lay = l;
    this.laidFor = `${cols}x${rows}`;
    place(this.header, l.header);
    place(this.footer, l.footer);
    for (const [id, box] of this.boxes) place(box, l.panes[id]);
  }

  private headerText(r: Report, rect: Rect): string[] {
    let open = 0;
    try {
      open = this.source.openConnections();
    } catch (e) {
      this.error = message(e);
    }
    return headerLines({
      title: this.source.title, report: r, rates: this.rates.current, history: this.rates.history, elapsedMs: this.now() - this.startedMs,
      openConnections: open, paused: this.state.paused, width: rect.width,
    }).slice(0, rect.height);
  }

  private drawPanes(l: Layout, r: Report): void {
    for (const [id, build] of PANES) {
      const rect = l.panes[id];
      const box = this.boxes.get(id)!;
      if (rect === null) continue;
      const ctx: PaneContext = { report: r, rates: this.rates.current, state: this.state, width: rect.width - 2, height: rect.height - 2 };
      const text = build(ctx);
      const focused = this.state.focus === id;
      box.style.border.fg = focused ? 'cyan' : 'gray';
      const label = labelText([(focused ? '▶ ' : '') + text.label[0]!, ...text.label.slice(1)], rect.width - 6);
      box.setLabel(label === '' ? '' : ` ${esc(label)} `);
      box.setContent(text.lines.slice(0, Math.max(0, ctx.height)).join('\n'));
    }
  }

  private drawHelp(cols: number, rows: number): void {
    if (!this.state.help) {
      this.help.hide();
      return;
    }
    const width = Math.min(cols, Math.max(...HELP_LINES.map((l) => l.length)) + 4);
    const height = Math.min(rows, HELP_LINES.length + 2);
    place(this.help, { left: Math.max(0, Math.floor((cols - width) / 2)), top: Math.max(0, Math.floor((rows - height) / 2)), width, height });
    this.help.setContent(HELP_LINES.map(esc).join('\n'));
    this.help.setFront();
  }

  private onKey(ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined): void {
    if (this.closed) return;
    const order = this.report === null ? [] : commandRows(this.report, this.state).map((c) => c.name);
    try {
      this.apply(applyKey(this.state, { ch, full: key?.full ?? ch ?? '' }, order));
    } catch (e) {
      this.error = message(e);
    }
  }

  private apply(effect: KeyEffect): void {
    switch (effect) {
      case 'quit':
        // Once: the caller stops the capture and closes; a second key must not do it twice.
        if (!this.quitting) {
          this.quitting = true;
          this.opts.onQuit();
        }
        return;
      case 'clear':
        this.source.clear();
        this.rates.reset();
        this.startedMs = this.now();
        return this.refresh();
      case 'refresh':
        return this.refresh();
      case 'redraw':
        return this.draw();
      case 'none':
        return;
    }
  }
}
