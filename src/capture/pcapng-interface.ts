/**
 * One pcapng interface (from an Interface Description Block): link type, snap length and the
 * timestamp unit. Spec: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/ (IDB options).
 */
import { i64, u16 } from './byte-order.js';

export const IDB_OPTION = {
  /** End of options. */
  END: 0,
  /** if_tsresol (1 byte): high bit clear = 10^-n s, set = 2^-n s. Default 10^-6. */
  TSRESOL: 9,
  /** if_tsoffset (int64): seconds added to every timestamp. */
  TSOFFSET: 14,
} as const;

/** Finest timestamp units accepted (10^-18 s, 2^-60 s); finer ones are treated as damage. */
const MAX_DECIMAL_EXPONENT = 18;
const MAX_BINARY_EXPONENT = 60;
const US_PER_SEC = 1_000_000;
const TWO_POW_32 = 4294967296;

export class PcapngInterface {
  /** Timestamp units per second. */
  unitsPerSec = US_PER_SEC;
  private unitsBig = 1_000_000n;
  /** if_tsoffset in microseconds. */
  offsetUs = 0;
  /** Latest isb_ifdrop / isb_osdrop from an ISB, if any. */
  ifDrop: number | null = null;
  osDrop: number | null = null;
  /** A frame has come from this interface (counted in CaptureStats.interfaces). */
  carried = false;
  /** Cache for tsUs(): the high timestamp word last converted and its exact microseconds. */
  private lastHi = -1;
  private baseWholeUs = 0;
  private baseRem = 0;

  constructor(
    readonly linkType: number,
    readonly snapLen: number,
  ) {}

  /** Reads the IDB options in b[off, end); returns a problem description or null. */
  readOptions(b: Uint8Array, off: number, end: number, le: boolean): string | null {
    for (let o = off; o + 4 <= end; ) {
      const code = u16(b, o, le);
      const len = u16(b, o + 2, le);
      if (code === IDB_OPTION.END) return null;
      if (o + 4 + len > end) return 'options run past the end of the block';
      if (code === IDB_OPTION.TSRESOL && len >= 1) {
        const bad = this.setResolution(b[o + 4]!);
        if (bad !== null) return bad;
      } else if (code === IDB_OPTION.TSOFFSET && len >= 8) {
        this.offsetUs = i64(b, o + 4, le) * US_PER_SEC;
      }
      o += 4 + ((len + 3) & ~3);
    }
    return null;
  }

  private setResolution(v: number): string | null {
    const exp = v & 0x7f;
    const binary = (v & 0x80) !== 0;
    if (exp > (binary ? MAX_BINARY_EXPONENT : MAX_DECIMAL_EXPONENT)) {
      return `if_tsresol ${v} is not supported; timestamps read as microseconds`;
    }
    this.unitsBig = binary ? 1n << BigInt(exp) : 10n ** BigInt(exp);
    this.unitsPerSec = Number(this.unitsBig);
    return null;
  }

  /**
   * Microseconds since the epoch of the 64-bit timestamp hi:lo. Exact to the double's precision:
   * the whole microseconds of hi * 2^32 units are computed once per distinct hi with BigInt.
   */
  tsUs(hi: number, lo: number): number {
    if (this.unitsPerSec === US_PER_SEC) return hi * TWO_POW_32 + lo + this.offsetUs;
    if (hi !== this.lastHi) this.rebase(hi);
    return this.baseWholeUs + (this.baseRem + lo * US_PER_SEC) / this.unitsPerSec + this.offsetUs;
  }

  private rebase(hi: number): void {
    const scaled = BigInt(hi) * BigInt(TWO_POW_32) * BigInt(US_PER_SEC);
    this.baseWholeUs = Number(scaled / this.unitsBig);
    this.baseRem = Number(scaled % this.unitsBig);
    this.lastHi = hi;
  }
}
