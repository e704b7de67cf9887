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

/** `"..."` with sdscatrepr escaping: exactly how MONITOR and redis-cli quote arguments. */
export function reprQuoted(bytes: string): string {
  let out = '"';
  for (let i = 0; i < bytes.length; i++) out += reprByte(bytes.charCodeAt(i));
  return out + '"';
}

/**
 * A key or value for display: as UTF-8 text when the bytes are valid UTF-8 without control
 * characters, otherwise with non-printable bytes escaped as \xHH.
 */
export function displayString(bytes: string): string {
  if (isPlainAscii(bytes)) return bytes;
  try {
    const text = utf8.decode(Buffer.from(bytes, 'latin1'));
    if (!/[\u0000-\u001f\u007f-\u009f]/.test(text)) return text; // C0, DEL and C1 controls are escaped
  } catch {
    // not UTF-8: fall through to escaping
  }
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    out += c >= 0x20 && c <= 0x7e && c !== 0x5c ? bytes[i] : reprByte(c);
  }
  return out;
}

/** A request as one line: arguments shown for display, each cut to `maxArg` characters. */
export function commandLine(args: readonly string[], argc: number, argLens: readonly number[] | null, maxArg = 64, maxArgs = 16): string {
  const parts: string[] = [];
  for (let i = 0; i < args.length && i < maxArgs; i++) {
    let s = displayString(args[i]!);
    const full = argLens?.[i] ?? s.length;
    if (s.length > maxArg || full > args[i]!.length) s = s.slice(0, maxArg) + `...(${full} bytes)`;
    parts.push(/[\s"]/.test(s) || s === '' ? JSON.stringify(s) : s);
  }
  if (argc > parts.length) parts.push(`...(${argc - parts.length} more args)`);
  return parts.join(' ');
}
