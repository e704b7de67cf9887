/**
 * Frames their consumer has finished with, for a decoder to fill again: a pipelined capture
 * frames millions of requests and replies, and fresh frames (objects, their arrays, their
 * timestamps boxed as heap numbers) were most of what the analysis allocated. A frame given
 * back must be referenced by nothing else: the decoder overwrites it, arrays included.
 *
 * Frames are kept by `size` (a request's argument count, a reply's head length): the decoder
 * refills arrays of that length in place. Setting a V8 array's length to 0 frees its store, and growing
 * it again allocates one larger than before, which is more than the frame saved.
 * Bounded, so a burst of pending requests does not stay allocated here.
 */
export class FramePool<T> {
  private readonly bySize: T[][] = [];

  /** `sizes`: frames of sizes 0..sizes are kept, `max` of each (0: none, every frame is new). */
  constructor(private readonly sizes = 8, private readonly max = 4096) {
    for (let k = 0; k <= sizes; k++) this.bySize.push([]);
  }

  /** A frame of this size, or undefined. */
  take(size: number): T | undefined {
    return size <= this.sizes ? this.bySize[size]!.pop() : undefined;
  }

  give(frame: T, size: number): void {
    if (size < 0 || size > this.sizes) return;
    const list = this.bySize[size]!;
    if (list.length < this.max) list.push(frame);
  }
}
