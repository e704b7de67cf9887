/** Address text, built once per connection. IPv6 per RFC 5952 (https://www.rfc-editor.org/rfc/rfc5952). */

export function formatIPv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** RFC 5952: lowercase, no leading zeros, the longest run (first if tied) of 2+ zero groups as `::`. */
export function formatIPv6(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 section 5).
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${formatIPv4(w3)}`;
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((v) => v.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** `ip:port`, or `[ip]:port` for IPv6. */
export function endpointText(ip: string, port: number, v6: boolean): string {
  return v6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}
