import type { FramePool } from './frame-pool.js';
import * as latin1Mod from './latin1.js';
import * as textCacheMod from './text-cache.js';
import type { RequestFrame } from './types.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { latin1 } = latin1Mod;
const { commandNames } = textCacheMod;

/** Arguments whose slots are allocated when a request's count is read. */
const PREALLOC_ARGS = 64;

/**
 * The arguments a request being framed keeps: the first `max` of them, each as a latin1 preview
 * of at most `previewBytes` and its full length. The arrays are those of a frame given back
 * with as many arguments when there is one (see FramePool), so most requests allocate none.
 */
export class KeptArgs {
  args: string[] = [];
  lens: number[] = [];
  /** Arguments kept so far, of at most `max`. */
  count = 0;
  max = 0;
  /** The frame given back whose arrays these are, or null. */
  private spare: RequestFrame | null = null;

  constructor(
    private readonly previewBytes: number,
    private readonly pool: FramePool<RequestFrame> | null,
  ) {}

  /** A request of `max` kept arguments begins. */
  begin(max: number): void {
    // A frame given back with `max` arguments: every one of its slots is written before emit.
    const spare = this.pool?.take(max);
    if (spare !== undefined) {
      this.spare = spare;
      this.args = spare.args;
      this.lens = spare.argLens;
    } else {
      // Sized up front when small (most requests); a huge declared count cannot make the
      // decoder allocate before the arguments actually arrive.
      this.spare = null;
      this.args = new Array<string>(max < PREALLOC_ARGS ? max : PREALLOC_ARGS);
      this.lens = new Array<number>(max < PREALLOC_ARGS ? max : PREALLOC_ARGS);
    }
    this.max = max;
    this.count = 0;
  }

  /** The next argument is d[s..s+n), whole in this chunk. */
  keep(d: Uint8Array, s: number, n: number): void {
    if (this.count >= this.max) return;
    const pv = this.previewBytes;
    this.keepText(this.count === 0 ? commandNames.text(d, s, n < pv ? n : pv) : latin1(d, s, s + (n < pv ? n : pv)), n);
  }

  /** The next argument, gathered across chunks: its preview and full length. */
  keepText(text: string, n: number): void {
    const i = this.count;
    if (i >= this.max) return;
    this.args[i] = text;
    this.lens[i] = n;
    this.count = i + 1;
  }

  /** The request is whole: its frame, which takes these arrays with it. */
  frame(argc: number, wireBytes: number, missingBytes: number, startTsUs: number, endTsUs: number): RequestFrame {
    const f = this.spare;
    this.spare = null;
    if (f === null) return { argc, args: this.args, argLens: this.lens, wireBytes, inline: false, missingBytes, startTsUs, endTsUs };
    f.argc = argc;
    f.wireBytes = wireBytes;
    f.inline = false;
    f.missingBytes = missingBytes;
    f.startTsUs = startTsUs;
    f.endTsUs = endTsUs;
    return f;
  }

  /** Characters held for the request in progress. */
  heldChars(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += this.args[i]!.length;
    return n;
  }

  /** The request in progress is dropped. */
  clear(): void {
    this.spare = null;
    this.args = [];
    this.lens = [];
    this.count = 0;
    this.max = 0;
  }
}
