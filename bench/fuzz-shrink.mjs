// Shrinking a fuzz reproducer: cut ranges of bytes out of it (halves, quarters, ... down to
// MIN_CUT bytes, from the end backwards) and keep every cut after which the same failure (same
// signature) remains, until nothing more can go or the time is up. A reproducer of a few
// hundred bytes says more than one of a megabyte, and costs the test suite less.

/** Smallest range tried; below it the gain is not worth the checks. */
const MIN_CUT = 4;

function without(b, at, n) {
  const out = new Uint8Array(b.length - n);
  out.set(b.subarray(0, at));
  out.set(b.subarray(at + n), at);
  return out;
}

/**
 * The smallest input found that still fails with `sig`. `check(bytes)` resolves when the input
 * passes and rejects with a failure carrying `.sig` when it fails.
 */
export async function shrink(bytes, sig, check, budgetMs = 30_000) {
  const fails = async (b) => {
    try {
      await check(b);
      return false;
    } catch (e) {
      return e?.sig === sig;
    }
  };
  if (!(await fails(bytes))) return null;
  const deadline = Date.now() + budgetMs;
  let cur = bytes;
  let cut = 1;
  while (cut * 2 <= cur.length / 2) cut *= 2;
  for (; cut >= MIN_CUT && Date.now() < deadline; cut = Math.floor(cut / 2)) {
    for (let at = cur.length - cut; at >= 0 && Date.now() < deadline; at -= cut) {
      const next = without(cur, at, cut);
      if (await fails(next)) cur = next;
    }
  }
  return cur;
}
