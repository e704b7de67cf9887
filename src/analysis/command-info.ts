import * as commandTableGeneratedMod from './command-table.generated.js';
import type { CommandSpec } from './command-spec.js';
import * as commandSpecMod from './command-spec.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { COMMAND_TABLE } = commandTableGeneratedMod;
const { keyPositions } = commandSpecMod;

/** What a request means, as far as analysis cares. */
export interface CommandInfo {
  /** Upper-case first word: "GET", "CONFIG", "DEBUG". */
  readonly name: string;
  /** Upper-case subcommand for container commands ("GET" of CONFIG GET), else null. */
  readonly sub: string | null;
  readonly spec: CommandSpec | null;
  readonly blocking: boolean;
  /**
   * Neither redacted, nor acted on by name by the session or connection state (SELECT, MULTI,
   * CLIENT, SUBSCRIBE, REPLCONF, ...): such a request only needs counting, and skips those checks.
   */
  readonly plain: boolean;
  /**
   * Argv position of the only key when the key specs name exactly one at a fixed position
   * (GET, SET, HGET, ...): requestKeys() needs no walk. -1 otherwise.
   */
  readonly keyAt: number;
}

/** Commands that wait by design although `COMMAND` does not flag them "blocking". */
const BLOCKING_BY_MEANING = new Set(['WAIT', 'WAITAOF']);
/** Flagged "blocking" but only block when given a BLOCK argument. */
const BLOCKING_WITH_OPTION = new Set(['XREAD', 'XREADGROUP']);
/** Commands whose second word names what they do; DEBUG has no subcommand table but is one. */
const CONTAINERS = new Set(['debug', ...Object.keys(COMMAND_TABLE).flatMap((n) => (n.includes('|') ? [n.split('|')[0]!] : []))]);

/**
 * Every command ./session.ts, ./conn-state.ts or redactSecrets() looks for by name; all others
 * are `plain`. A name compared there must be listed here (test/command-keys.test.ts checks).
 */
export const NOT_PLAIN: ReadonlySet<string> = new Set([
  'AUTH', 'HELLO', 'MIGRATE', 'CONFIG', 'ACL', 'SENTINEL', 'CLIENT', 'RESET', 'SELECT', 'MULTI',
  'EXEC', 'DISCARD', 'MONITOR', 'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE',
  'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'REPLCONF', 'PSYNC', 'SYNC', 'QUIT',
]);

/** Bounded cache of name lookups: random garbage command names must not grow it forever. */
const MAX_CACHED_NAMES = 4096;
interface ResolvedName {
  name: string;
  spec: CommandSpec | null;
  container: boolean;
  plain: boolean;
  /** The CommandInfo of every request with this name, when the other arguments cannot change it. */
  fixed: CommandInfo | null;
}
const byRawName = new Map<string, ResolvedName>();

/**
 * Case as Redis folds names (strcasecmp): ASCII letters only. Latin-1 case rules would make
 * "\xdfCAN" SSCAN and "X\xff" "X\u0178", a char no byte is.
 */
export function asciiUpper(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
  return s.toUpperCase();
}

function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  return s.toLowerCase();
}

/** The table's spec of a name from the wire: its own entries only ("constructor" is no command). */
function tableSpec(name: string): CommandSpec | null {
  return Object.hasOwn(COMMAND_TABLE, name) ? COMMAND_TABLE[name]! : null;
}

function resolveName(raw: string): ResolvedName {
  let hit = byRawName.get(raw);
  if (hit !== undefined) return hit;
  const lower = asciiLower(raw);
  const name = asciiUpper(raw);
  const spec = tableSpec(lower);
  const container = CONTAINERS.has(lower);
  const plain = !NOT_PLAIN.has(name);
  let fixed: CommandInfo | null = null;
  if (!container && !BLOCKING_WITH_OPTION.has(name)) {
    const blocking = BLOCKING_BY_MEANING.has(name) || (spec !== null && spec.flags.includes('blocking'));
    fixed = Object.freeze({ name, sub: null, spec, blocking, plain, keyAt: singleKeyAt(name, spec) });
  }
  hit = { name, spec, container, plain, fixed };
  if (byRawName.size < MAX_CACHED_NAMES) byRawName.set(raw, hit);
  return hit;
}

function singleKeyAt(name: string, spec: CommandSpec | null): number {
  // requestKeys() finds more keys for these than their specs say.
  if (spec === null || spec.keys.length !== 1 || name === 'SORT' || name === 'MIGRATE') return -1;
  const k = spec.keys[0]!;
  return k.index !== undefined && k.index > 0 && k.lastKey === 0 && k.notKey !== true ? k.index : -1;
}

/**
 * XREAD/XREADGROUP options walked as Redis's xreadCommand parses them, up to STREAMS: after it
 * come stream names and IDs, and a stream, group or consumer may be named "block".
 */
function hasBlockOption(args: readonly string[]): boolean {
  for (let i = 1; i < args.length; i++) {
    const word = args[i]!.toUpperCase();
    const more = args.length - i - 1;
    if (word === 'BLOCK' && more > 0) return true;
    if (word === 'COUNT' && more > 0) i += 1;
    else if (word === 'GROUP' && more > 1) i += 2;
    else if (word !== 'NOACK') return false; // STREAMS, or a syntax error Redis refuses
  }
  return false;
}

export function commandInfo(args: readonly string[]): CommandInfo {
  const base = resolveName(args[0] ?? '');
  if (base.fixed !== null) return base.fixed;
  let sub: string | null = null;
  let spec = base.spec;
  if (base.container && args.length > 1) {
    sub = asciiUpper(args[1]!);
    spec = tableSpec(`${asciiLower(base.name)}|${asciiLower(sub)}`) ?? spec;
  }
  let blocking = BLOCKING_BY_MEANING.has(base.name);
  if (!blocking && spec !== null && spec.flags.includes('blocking')) {
    blocking = !BLOCKING_WITH_OPTION.has(base.name) || hasBlockOption(args);
  }
  return { name: base.name, sub, spec, blocking, plain: base.plain, keyAt: -1 };
}

/**
 * Argv positions of the keys of a request into out[0..n), returning n (they may point past the
 * kept args). Redis marks two key specs "unknown" and finds those keys with code instead; we do
 * the same for them.
 */
export function requestKeys(info: CommandInfo, args: readonly string[], argc: number, out: number[]): number {
  if (info.keyAt > 0) {
    if (info.keyAt >= argc) return 0;
    out[0] = info.keyAt;
    return 1;
  }
  if (info.spec === null) return 0;
  let n = keyPositions(info.spec, args, argc, out);
  if (info.name === 'SORT') n = sortStoreKey(args, out, n);
  else if (info.name === 'MIGRATE' && args[3] === '' && n > 1) {
    for (let i = 1; i < n; i++) out[i - 1] = out[i]!; // key "" + KEYS k1 k2...: drop the ""
    n--;
  }
  return n;
}

/**
 * Argv positions of a request's shard channels (SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE: key specs
 * flagged not_key), as requestKeys() gives keys: no keys, but each has a hash slot.
 */
export function requestChannels(info: CommandInfo, args: readonly string[], argc: number, out: number[]): number {
  return info.spec === null ? 0 : keyPositions(info.spec, args, argc, out, true);
}

/** SORT ... STORE dst: the destination key, skipping the arguments of LIMIT/BY/GET as Redis does. */
function sortStoreKey(args: readonly string[], out: number[], n: number): number {
  for (let i = 2; i < args.length; i++) {
    const word = args[i]!.toUpperCase();
    if (word === 'LIMIT') i += 2;
    else if (word === 'GET' || word === 'BY') i += 1;
    else if (word === 'STORE' && i + 1 < args.length) {
      out[n] = i + 1;
      return n + 1;
    }
  }
  return n;
}

export const REDACTED = '(redacted)';

/**
 * Replaces secrets in place, before anything else sees the request: AUTH's arguments,
 * HELLO ... AUTH user pass and MIGRATE ... AUTH/AUTH2 as MONITOR does, and (beyond MONITOR)
 * CONFIG SET values of SECRET_CONFIGS and ACL SETUSER rules. Their lengths are
 * replaced too, so not even a secret's size shows.
 */
export function redactSecrets(name: string, args: string[], lens: number[]): boolean {
  switch (name) {
    case 'AUTH':
      return redactFrom(args, lens, 1, args.length - 1);
    case 'HELLO':
      return redactHello(args, lens);
    case 'MIGRATE':
      return redactMigrate(args, lens);
    case 'CONFIG':
      return redactConfigSet(args, lens);
    case 'ACL':
      return redactAclSetuser(args, lens);
    case 'SENTINEL':
      return redactSentinel(args, lens);
    default:
      return false;
  }
}

function redactFrom(args: string[], lens: number[], from: number, count: number): boolean {
  let done = false;
  for (let i = from; i < from + count && i < args.length; i++) {
    args[i] = REDACTED;
    lens[i] = REDACTED.length;
    done = true;
  }
  return done;
}

/**
 * HELLO [protover [AUTH user pass] [SETNAME name]]: options walked as Redis parses them, from
 * argv[1]: Redis 7 refuses AUTH without a protover, but the password was sent all the same.
 */
function redactHello(args: string[], lens: number[]): boolean {
  let done = false;
  for (let i = 1; i < args.length; ) {
    const word = args[i]!.toUpperCase();
    if (word === 'AUTH') {
      done = redactFrom(args, lens, i + 1, 2) || done;
      i += 3;
    } else i += word === 'SETNAME' ? 2 : 1;
  }
  return done;
}

/** MIGRATE host port key db timeout [COPY] [REPLACE] [AUTH pass | AUTH2 user pass] [KEYS ...]. */
function redactMigrate(args: string[], lens: number[]): boolean {
  let done = false;
  for (let i = 6; i < args.length; ) {
    const word = args[i]!.toUpperCase();
    if (word === 'KEYS') break;
    if (word === 'AUTH') {
      done = redactFrom(args, lens, i + 1, 1) || done;
      i += 2;
    } else if (word === 'AUTH2') {
      done = redactFrom(args, lens, i + 1, 2) || done;
      i += 3;
    } else i++;
  }
  return done;
}

/** Every config of Redis 7 (`CONFIG GET *pass*`, `*auth*`) that holds a password or names its user. */
const SECRET_CONFIGS = new Set(['requirepass', 'masterauth', 'masteruser', 'tls-key-file-pass', 'tls-client-key-file-pass']);

function redactConfigSet(args: string[], lens: number[]): boolean {
  if (args[1]?.toUpperCase() !== 'SET') return false;
  let done = false;
  for (let i = 2; i + 1 < args.length; i += 2) {
    if (SECRET_CONFIGS.has(args[i]!.toLowerCase())) done = redactFrom(args, lens, i + 1, 1) || done;
  }
  return done;
}

/** SENTINEL SET master [option value ...] and SENTINEL CONFIG SET [param value ...]. */
function redactSentinel(args: string[], lens: number[]): boolean {
  const sub = args[1]?.toUpperCase();
  let from: number;
  let secret: string;
  if (sub === 'SET') [from, secret] = [3, 'auth-pass'];
  else if (sub === 'CONFIG' && args[2]?.toUpperCase() === 'SET') [from, secret] = [3, 'sentinel-pass'];
  else return false;
  let done = false;
  for (let i = from; i + 1 < args.length; i += 2) {
    if (args[i]!.toLowerCase() === secret) done = redactFrom(args, lens, i + 1, 1) || done;
  }
  return done;
}

/**
 * Every rule after the user name: ">pass", "#hash", "<pass", "!hash" name passwords, and a
 * password typed without its '>' is a rule too, which the error reply then quotes. Redis's
 * own SLOWLOG redacts them all (and the name).
 */
function redactAclSetuser(args: string[], lens: number[]): boolean {
  if (args[1]?.toUpperCase() !== 'SETUSER') return false;
  return redactFrom(args, lens, 3, args.length - 3);
}
