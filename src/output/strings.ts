/**
 * Turning wire bytes (held as latin1 strings, one char per byte) into text a person or a JSON
 * reader can use.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Escapes a byte the way redis-cli's sdscatrepr does. */
function reprByte(c: number): string {
  switch (c) {
    case 0x5c:
      return '\\\\';
    case 0x22:
      return '\\"';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    default:
      return c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
  }
}

/** Whether sdscatrepr prints every byte of s as it is: printable ASCII but `"` and `\`. */
function printsAsIs(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** `"..."` with sdscatrepr escaping: exactly how MONITOR and redis-cli quote arguments. */
export function reprQuoted(bytes: string): string {
  // Most arguments need no escape: one string, not one concatenation per byte.
  if (printsAsIs(bytes)) return '"' + bytes + '"';
  let out = '"';
  for (let i = 0; i < bytes.length; i++) out += reprByte(bytes.charCodeAt(i));
  return out + '"';
}

/** The UTF-8 text of `bytes` when they are valid UTF-8 without C0, DEL or C1 controls; else null. */
function asText(bytes: string): string | null {
  try {
    const text = utf8.decode(Buffer.from(bytes, 'latin1'));
    return /[\u0000-\u001f\u007f-\u009f]/.test(text) ? null : text;
  } catch {
    return null; // not UTF-8
  }
}

/** A byte of an escaped display: printable ASCII but the backslash as is, the rest as sdscatrepr escapes it. */
function displayByte(c: number): string {
  return c >= 0x20 && c <= 0x7e && c !== 0x5c ? String.fromCharCode(c) : reprByte(c);
}

/** Bytes a code point takes in UTF-8. */
function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/**
 * The display of the first bytes of `bytes`, at most `maxChars` characters of it (never half a
 * character or half an escape), and how many bytes that shows.
 */
export function displayPrefix(bytes: string, maxChars: number): { text: string; shownBytes: number } {
  if (isPlainAscii(bytes)) {
    const text = bytes.length <= maxChars ? bytes : bytes.slice(0, maxChars);
    return { text, shownBytes: text.length };
  }
  const text = asText(bytes);
  let out = '';
  let shown = 0;
  if (text !== null) {
    if (text.length <= maxChars) return { text, shownBytes: bytes.length };
    for (const ch of text) {
      if (out.length + ch.length > maxChars) break;
      out += ch;
      shown += utf8Len(ch.codePointAt(0)!);
    }
    return { text: out, shownBytes: shown };
  }
  for (; shown < bytes.length; shown++) {
    const e = displayByte(bytes.charCodeAt(shown));
    if (out.length + e.length > maxChars) break;
    out += e;
  }
  return { text: out, shownBytes: shown };
}

/**
 * A key or value for display: as UTF-8 text when the bytes are valid UTF-8 without control
 * characters, otherwise with non-printable bytes (and the backslash) escaped as redis-cli does,
 * \xHH. This is the one function wire bytes pass on their way to a person: the report holds
 * what it returns, and the text report and the terminal view print only that.
 */
export function displayString(bytes: string): string {
  return displayPrefix(bytes, Infinity).text;
}

/**
 * Text that is a string already, not wire bytes (a file or interface name, a warning): shown as
 * displayString shows its UTF-8 bytes. What displayString returned comes back unchanged.
 */
export function displayText(text: string): string {
  return isPlainAscii(text) ? text : displayString(Buffer.from(text, 'utf8').toString('latin1'));
}

/** A displayed argument, in double quotes when it holds white space or a quote (or is empty). */
function quoted(s: string): string {
  return s === '' || /[\s"]/.test(s) ? '"' + s.replace(/"/g, '\\"') + '"' : s;
}

/**
 * A request as one line: each argument as displayString shows it, at most `maxArg` characters,
 * followed by `...(N bytes)` only when bytes of it are not shown (cut here, or on the wire:
 * `argLens` has the full sizes when the arguments are previews).
 */
export function commandLine(args: readonly string[], argc: number, argLens: readonly number[] | null, maxArg = 64, maxArgs = 16): string {
  const parts: string[] = [];
  for (let i = 0; i < args.length && i < maxArgs; i++) {
    const raw = args[i]!;
    const full = Math.max(argLens?.[i] ?? raw.length, raw.length);
    const { text, shownBytes } = displayPrefix(raw, maxArg);
    parts.push(shownBytes < full ? `${quoted(text)}...(${full} bytes)` : quoted(text));
  }
  if (argc > parts.length) parts.push(`...(${argc - parts.length} more args)`);
  return parts.join(' ');
}
