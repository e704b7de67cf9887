// Sends N SETs of distinct keys (key:0 .. key:N-1), pipelined 1000 at a time over C
// connections, to make a capture with N distinct keys for the memory-bound benchmark.
// Usage: node bench/distinct-keys.mjs PORT [N=5000000] [C=4]
import net from 'node:net';

const [port, n = 5_000_000, conns = 4] = process.argv.slice(2).map(Number);
const BATCH = 1000;

function run(id) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let next = id;
    let awaiting = 0;
    let buffered = '';
    const sendBatch = () => {
      let out = '';
      for (let i = 0; i < BATCH && next < n; i++, next += conns) {
        const key = `key:${next}`;
        out += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$1\r\nv\r\n`;
        awaiting++;
      }
      if (out === '') sock.end();
      else sock.write(out);
    };
    sock.on('connect', sendBatch);
    sock.on('data', (d) => {
      buffered += d.toString('latin1');
      const lines = buffered.split('\r\n');
      buffered = lines.pop();
      awaiting -= lines.length;
      if (awaiting === 0) sendBatch();
    });
    sock.on('close', resolve);
    sock.on('error', reject);
  });
}

await Promise.all(Array.from({ length: conns }, (_, i) => run(i)));
console.log(`sent ${n} SETs of distinct keys over ${conns} connections`);
