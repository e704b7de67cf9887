/**
 * A long capture for stop tests: an Ethernet pcap's records n times over, copy c stamped 10c s
 * after the first. Each copy's clients use other ports (the port that is not 6379, XOR c): the
 * same connection again, sequence numbers and all, would be the retransmission of a closed
 * one, which opens nothing, and the copies would be no work to analyse.
 */
const PCAP_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
const ETHERNET_BYTES = 14;
const ETHERTYPE_IPV4 = 0x0800;
const PROTO_TCP = 6;

export function captureCopies(pcap: Buffer, n: number, serverPort = 6379): Buffer {
  const records = pcap.subarray(PCAP_HEADER_BYTES);
  const copies: Buffer[] = [pcap.subarray(0, PCAP_HEADER_BYTES)];
  for (let c = 0; c < n; c++) {
    const copy = Buffer.from(records);
    for (let off = 0; off + RECORD_HEADER_BYTES <= copy.length; off += RECORD_HEADER_BYTES + copy.readUInt32LE(off + 8)) {
      copy.writeUInt32LE(copy.readUInt32LE(off) + c * 10, off);
      const ip = off + RECORD_HEADER_BYTES + ETHERNET_BYTES;
      if (copy.readUInt16BE(ip - 2) !== ETHERTYPE_IPV4 || copy[ip + 9] !== PROTO_TCP) continue;
      const tcp = ip + (copy[ip]! & 0x0f) * 4;
      for (const at of [tcp, tcp + 2]) if (copy.readUInt16BE(at) !== serverPort) copy.writeUInt16BE(copy.readUInt16BE(at) ^ c, at);
    }
    copies.push(copy);
  }
  return Buffer.concat(copies);
}
