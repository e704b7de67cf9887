/**
 * Redis's own description of a command, as `COMMAND` returns it (Redis 7 key specs), and the
 * rule that turns it into key positions. See https://redis.io/docs/reference/key-specs/.
 */
export interface KeySpec {
  /** begin_search "index": argv position where the search begins. */
  index?: number;
  /** begin_search "keyword": the search begins after this argument... */
  keyword?: string;
  /** ...looked for from this position (negative: backwards from the end). */
  startFrom?: number;
  /** find_keys "range": last key relative to the begin position (negative: from the end). */
  lastKey?: number;
  /** With lastKey -1: 0/1 no limit, n: only 1/n of the remaining arguments. */
  limit?: number;
  /** find_keys "keynum": where the key count is, relative to the begin position. */
  keyNumIdx?: number;
  /** find_keys "keynum": first key relative to the begin position. */
  firstKey?: number;
  keyStep: number;
  /** The spec's "not_key" flag: the arguments it finds are no keys (shard channels), though they have a hash slot. */
  notKey?: true;
}

export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'admin'
  | 'pubsub'
  | 'blocking'
  | 'noscript'
  | 'loading'
  | 'stale'
  | 'fast'
  | 'movablekeys';

export interface CommandSpec {
  /** Positive: exact argc; negative: at least -arity. */
  arity: number;
  flags: readonly CommandFlag[];
  keys: readonly KeySpec[];
}

/** Position where a key spec's search begins, or -1 when it does not apply to this argv. */
function beginPosition(spec: KeySpec, args: readonly string[], argc: number): number {
  if (spec.index !== undefined) return spec.index;
  if (spec.keyword === undefined || spec.startFrom === undefined) return -1;
  const word = spec.keyword.toUpperCase();
  if (spec.startFrom >= 0) {
    for (let i = spec.startFrom; i < argc && i < args.length; i++) {
      if (args[i]!.toUpperCase() === word) return i + 1;
    }
  } else {
    for (let i = argc + spec.startFrom; i > 0; i--) {
      if (i < args.length && args[i]!.toUpperCase() === word) return i + 1;
    }
  }
  return -1;
}

/** Parses a decimal count argument; NaN when it is not one. */
function intArg(s: string | undefined): number {
  if (s === undefined || s.length === 0 || s.length > 10) return NaN;
  const n = Number(s);
  return Number.isInteger(n) ? n : NaN;
}

/**
 * Writes to out[0..n) the argv positions of the keys of one request, following each key spec
 * the way Redis's getKeysUsingKeySpecs does, and returns n; `out` is reused scratch, so entries
 * past n are stale. Positions past `args.length` (arguments not kept by the decoder) are still
 * returned so multi-key commands count every key they name. Specs flagged not_key are skipped,
 * as Redis's COMMAND GETKEYS skips them; `notKeys` gives those specs' positions instead.
 */
export function keyPositions(spec: CommandSpec, args: readonly string[], argc: number, out: number[], notKeys = false): number {
  let n = 0;
  for (const ks of spec.keys) {
    if ((ks.notKey === true) !== notKeys) continue;
    const begin = beginPosition(ks, args, argc);
    if (begin < 0 || begin >= argc) continue;
    let first: number;
    let last: number;
    if (ks.lastKey !== undefined) {
      first = begin;
      if (ks.lastKey >= 0) last = begin + ks.lastKey;
      else {
        last = argc + ks.lastKey;
        const limit = ks.limit ?? 0;
        if (limit > 1) last = begin + Math.floor((last - begin + 1) / limit) - 1;
      }
    } else {
      const n = intArg(args[begin + (ks.keyNumIdx ?? 0)]);
      if (!(n > 0)) continue;
      first = begin + (ks.firstKey ?? 1);
      last = first + (n - 1) * ks.keyStep;
    }
    const step = ks.keyStep > 0 ? ks.keyStep : 1;
    for (let i = first; i <= last && i < argc; i += step) out[n++] = i;
  }
  return n;
}
