/** What a client says of itself in its requests: CLIENT SETNAME, CLIENT SETINFO, HELLO ... SETNAME. */
import * as transactionMod from './transaction.js';
import type { TrackedRequest } from './tracked-request.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { answeredQueued } = transactionMod;

export type ClientInfoField = 'name' | 'lib' | 'libVer';

/**
 * What a connection says of itself: a name the server accepted (a refused one is not its
 * name), and its client library as the client states it (a server older than 7.2 refuses
 * CLIENT SETINFO, but the library is what it is). Queued in MULTI, a name is accepted only
 * when EXEC runs it without error (`ran`, see ./transaction.ts execRan).
 */
export function selfNamed(r: TrackedRequest, tell: (field: ClientInfoField, value: string) => void, ran = false): void {
  const a = r.frame.args;
  const sub = r.info.sub;
  const queued = answeredQueued(r);
  // Its +QUEUED told the library once; EXEC tells only the name.
  if (ran && sub === 'SETINFO') return;
  const accepted = ran || (!queued && (r.outcome === 'ok' || r.outcome === 'noreply'));
  if (sub === 'SETNAME' && a.length > 2) {
    if (accepted) tell('name', a[2]!);
    return;
  }
  if (sub === 'SETINFO' && a.length > 3) {
    const what = a[2]!.toUpperCase();
    if (what === 'LIB-NAME') tell('lib', a[3]!);
    else if (what === 'LIB-VER') tell('libVer', a[3]!);
    return;
  }
  if (r.info.name !== 'HELLO' || !accepted) return;
  // HELLO [protover [AUTH user pass] [SETNAME name]]
  for (let i = 2; i < a.length; ) {
    const word = a[i]!.toUpperCase();
    if (word === 'SETNAME' && i + 1 < a.length) return tell('name', a[i + 1]!);
    i += word === 'AUTH' ? 3 : 1;
  }
}
