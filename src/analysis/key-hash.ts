/**
 * The hot-key table's hash of a key (./key-table.ts): MurmurHash3 rounds over its chars, four
 * latin1 chars per word for a key short enough to be held inline (packed into `words` as the
 * table stores them), two UTF-16 code units per word otherwise. A fixed function (no seed), so
 * it also orders ties the same in every run. From a string or from its code units, the same.
 */

/** Where a prepared key's hash and kind go: 1 for a key compared as a string, 2 + n for n packed chars. */
export interface KeyPrep {
  hash: number;
  kind: number;
}

/**
 * One hash round (MurmurHash3's): scramble the word on its own so that keys differing in a few
 * low bits (digits) differ in all of them, then fold it into the state.
 */
function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 13);
}

/**
 * Sets hash and kind for key. A latin1 key that fits inline is packed four chars per word
 * into words[at..] and hashed a word per round; any other string is hashed two UTF-16 code
 * units per round.
 */
export function prepareKey(out: KeyPrep, key: string, words: Int32Array, at: number, inlineBytes: number): void {
  const n = key.length;
  let h = Math.imul(n, 0x9e3779b1) ^ 0x7f4a7c15;
  if (n <= inlineBytes) {
    let all = 0;
    let k = at;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const a = key.charCodeAt(i);
      const b = key.charCodeAt(i + 1);
      const c = key.charCodeAt(i + 2);
      const d = key.charCodeAt(i + 3);
      all |= a | b | c | d;
      const w = a | (b << 8) | (c << 16) | (d << 24);
      words[k++] = w;
      h = mix(h, w);
    }
    if (i < n) {
      let w = 0;
      for (let sh = 0; i < n; i++, sh += 8) {
        const c = key.charCodeAt(i);
        all |= c;
        w |= c << sh;
      }
      words[k] = w;
      h = mix(h, w);
    }
    if (all < 256) {
      out.kind = 2 + n;
      out.hash = finish(h);
      return;
    }
    h = Math.imul(n, 0x9e3779b1) ^ 0x7f4a7c15;
  }
  let i = 0;
  for (; i + 1 < n; i += 2) h = mix(h, key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16));
  if (i < n) h = mix(h, key.charCodeAt(i));
  out.kind = 1;
  out.hash = finish(h);
}

/** prepareKey() for the key whose code units are codes[s..s+n), into this.words. */
export function prepareKeyCodes(out: KeyPrep, codes: Uint16Array, s: number, n: number, words: Int32Array, inlineBytes: number): void {
  let h = Math.imul(n, 0x9e3779b1) ^ 0x7f4a7c15;
  if (n <= inlineBytes) {
    let all = 0;
    for (let i = 0; i < n; i++) all |= codes[s + i]!;
    if (all < 256) {
      let k = 0;
      let i = 0;
      for (; i + 4 <= n; i += 4) {
        const w = codes[s + i]! | (codes[s + i + 1]! << 8) | (codes[s + i + 2]! << 16) | (codes[s + i + 3]! << 24);
        words[k++] = w;
        h = mix(h, w);
      }
      if (i < n) {
        let w = 0;
        for (let sh = 0; i < n; i++, sh += 8) w |= codes[s + i]! << sh;
        words[k] = w;
        h = mix(h, w);
      }
      out.kind = 2 + n;
      out.hash = finish(h);
      return;
    }
  }
  let i = 0;
  for (; i + 1 < n; i += 2) h = mix(h, codes[s + i]! | (codes[s + i + 1]! << 16));
  if (i < n) h = mix(h, codes[s + i]!);
  out.kind = 1;
  out.hash = finish(h);
}
