import { latin1 } from './latin1.js';

/**
 * Command names repeat endlessly ("GET", "SET"): the last string made for each short name is
 * reused, so later layers look up a string whose hash is already computed, and no new string
 * is made per request. Slots are picked by length and first/last byte; a miss just replaces.
 */
const NAME_SLOTS = 1024;
const names: string[] = new Array<string>(NAME_SLOTS).fill('');

export function commandName(d: Uint8Array, s: number, n: number): string {
  if (n === 0 || n > 16) return latin1(d, s, s + n);
  const slot = (n * 31 + d[s]! * 7 + d[s + n - 1]!) & (NAME_SLOTS - 1);
  const cached = names[slot]!;
  if (cached.length === n) {
    let k = 0;
    while (k < n && cached.charCodeAt(k) === d[s + k]) k++;
    if (k === n) return cached;
  }
  const made = latin1(d, s, s + n);
  names[slot] = made;
  return made;
}
