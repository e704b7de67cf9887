#!/usr/bin/env node
// Shard threads start before the program loads, so they load it beside this thread.
import { startEarly } from '../dist/engine/threads/shard-threads.js';

startEarly(process.argv);
const { main } = await import('../dist/cli/main.js');
main(process.argv).then((code) => {
  process.exitCode = code;
});
