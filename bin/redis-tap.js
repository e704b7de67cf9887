#!/usr/bin/env node
// V8's inlining budget first: it applies to what is compiled after it is set.
import { widenInlining } from '../dist/engine/inlining.js';
// Shard threads start before the program loads, so they load it beside this thread.
import { startEarly } from '../dist/engine/threads/shard-threads.js';

widenInlining();
startEarly(process.argv);
const { main } = await import('../dist/cli/main.js');
main(process.argv).then((code) => {
  process.exitCode = code;
});
