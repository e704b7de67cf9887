/** A hot-key table's entries as callers see them: plain rows, and the one live view add() returns. */
import type { KeyTable } from './key-table.js';
import * as keyTableMod from './key-table.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { F64_PER_REC, F_BYTES, F_COUNT, F_ERROR } = keyTableMod.KEY_RECORD;

export interface KeyCount {
  key: string;
  count: number;
  bytes: number;
  /** Most the count may overstate the truth (0 while exact). */
  error: number;
}

/** A key's entry as `add` returns it: valid until the next add or clear. */
export interface Entry extends Readonly<KeyCount> {
  /** Free slot for the caller to cache something derived from the key (its prefix). */
  tag: string | null;
}

/** The one view `add` returns, pointed at the record it touched; tags live in the table. */
export class EntryView implements Entry {
  id = 0;
  constructor(private readonly t: KeyTable) {}
  get key(): string {
    return this.t.keyOf(this.id);
  }
  get count(): number {
    return this.t.f64[this.id * F64_PER_REC + F_COUNT]!;
  }
  get bytes(): number {
    return this.t.f64[this.id * F64_PER_REC + F_BYTES]!;
  }
  get error(): number {
    return this.t.f64[this.id * F64_PER_REC + F_ERROR]!;
  }
  get tag(): string | null {
    return this.t.tag(this.id);
  }
  set tag(v: string | null) {
    this.t.setTag(this.id, v);
  }
}
