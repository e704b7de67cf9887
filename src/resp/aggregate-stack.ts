import * as constantsMod from './constants.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { RESP_TYPES } = constantsMod;

const PIPE = RESP_TYPES.ATTRIBUTE;
const PUSH = RESP_TYPES.PUSH;

/**
 * The open aggregates of a reply, innermost last: type byte, values still expected (-1 for a
 * streamed aggregate, which ends at `.`), and values seen. An attribute `|` is not a value of
 * its parent: closing one does not count in the level below. Nor is a push `>` inside another
 * value: pushes are out of band, and Redis 7.0 writes one a command inside MULTI causes on its
 * own connection (a keyspace notification) inside EXEC's reply array. Bounded by the decoder's
 * maxDepth check before every push.
 */
export class AggregateStack {
  depth = 0;
  private readonly types: number[] = [];
  private readonly left: number[] = [];
  private readonly seen: number[] = [];

  push(type: number, left: number): void {
    const i = this.depth++;
    this.types[i] = type;
    this.left[i] = left;
    this.seen[i] = 0;
  }

  clear(): void {
    this.depth = 0;
  }

  /** Type byte of the innermost open level, 0 when none is open. */
  top(): number {
    return this.depth > 0 ? this.types[this.depth - 1]! : 0;
  }

  /** Type byte of the outermost open level, 0 when none is open. */
  bottom(): number {
    return this.depth > 0 ? this.types[0]! : 0;
  }

  /** Is the innermost level a streamed aggregate (ended by `.`)? */
  topStreamed(): boolean {
    return this.depth > 0 && this.left[this.depth - 1]! < 0;
  }

  /** Values seen so far by the innermost level: the index of the value in progress. */
  topSeen(): number {
    return this.depth > 0 ? this.seen[this.depth - 1]! : 0;
  }

  /** Closes the innermost level. */
  pop(): void {
    if (this.depth > 0) this.depth--;
  }

  /**
   * A value just ended (`attribute`: it was an attribute map). Counts it in its parent and
   * closes every level it completes. True when a whole top-level value has ended.
   */
  complete(attribute: boolean): boolean {
    let attr = attribute;
    for (;;) {
      const depth = this.depth;
      if (depth === 0) return !attr;
      if (attr) return false;
      const i = depth - 1;
      this.seen[i]!++;
      if (this.left[i]! < 0) return false;
      if (--this.left[i]! > 0) return false;
      attr = this.types[i] === PIPE || (i > 0 && this.types[i] === PUSH);
      this.depth = i;
    }
  }
}
