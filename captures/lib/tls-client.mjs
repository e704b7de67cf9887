// A generator connection over TLS: the same raw RESP RedisConn, on a tls.connect socket. The
// server's certificate is self-signed for the capture, so it is not verified.
import tls from 'node:tls';
import { RedisConn } from './client.mjs';
import { endpoint } from './truth.mjs';

export class TlsRedisConn extends RedisConn {
  open() {
    return new Promise((resolve, reject) => {
      const o = this.opts;
      const sock = tls.connect({ host: o.host, port: o.port, localAddress: o.localAddress, rejectUnauthorized: false });
      this.sock = sock;
      sock.setNoDelay(true);
      sock.once('error', reject);
      sock.once('secureConnect', () => {
        sock.off('error', reject);
        sock.on('error', (err) => this.fail(err));
        this.tlsProtocol = sock.getProtocol();
        this.ip = sock.localAddress;
        this.clientEndpoint = endpoint(sock.localAddress, sock.localPort);
        this.server = endpoint(sock.remoteAddress, sock.remotePort);
        if (this.tracked) this.rec.addConn(this);
        resolve(this);
      });
      sock.on('data', (chunk) => this.onData(chunk));
      this.closed = new Promise((r) => sock.once('close', r));
    });
  }
}

/** Opens n TLS connections from one local address. */
export async function openTlsConns(rec, n, localAddress, target) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await new TlsRedisConn(rec, { ...target, localAddress }).open());
  return out;
}
