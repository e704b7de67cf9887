/**
 * What the capture layer hands upward: one captured frame. Readers reuse one Packet object
 * and may reuse `data` after the callback returns; a consumer that keeps bytes copies them.
 */
export interface Packet {
  /** Capture timestamp in microseconds since the Unix epoch; a fraction is kept for ns captures. */
  tsUs: number;
  /** LINKTYPE_* value of the interface the frame came from (https://www.tcpdump.org/linktypes.html). */
  linkType: number;
  /** Buffer holding the frame at data[offset .. offset + capLen). */
  data: Uint8Array;
  offset: number;
  /** Bytes captured (may be less than origLen when a snap length cut the frame). */
  capLen: number;
  /** Length of the frame on the wire. */
  origLen: number;
}

/** What a capture source counts about itself; every field is shown in reports. */
export interface CaptureStats {
  format: string;
  packets: number;
  bytes: number;
  /** Records cut short by the end of the file (the last packet of a capture that was killed). */
  truncatedRecords: number;
  /** Bytes at the end or in damaged blocks that could not be read as packets. */
  skippedBytes: number;
  /** Blocks of a pcapng file that were skipped as unknown or damaged. */
  skippedBlocks: number;
  /** Frames whose capLen < origLen (snap length); their TCP payload is incomplete. */
  snappedPackets: number;
  /** Kernel/interface drops as the capture recorded them (pcapng ISB or live stats), if known. */
  kernelDrops: number | null;
  interfaceDrops: number | null;
  /** Frames a live capture threw away on purpose because the reader fell too far behind. */
  shedFrames: number;
  /** Packets read but left out of the analysis by --since / --until / --client. */
  filteredPackets: number;
  /**
   * Interfaces the frames came from: a pcapng file counts those (of every section) that carried
   * frames, so a merge shows; a pcap file or a live capture is one.
   */
  interfaces: number;
  /** One-line descriptions of anything odd, shown once in the report. */
  warnings: string[];
}

export function emptyCaptureStats(format: string): CaptureStats {
  return {
    format,
    packets: 0,
    bytes: 0,
    truncatedRecords: 0,
    skippedBytes: 0,
    skippedBlocks: 0,
    snappedPackets: 0,
    kernelDrops: null,
    interfaceDrops: null,
    shedFrames: 0,
    filteredPackets: 0,
    interfaces: 1,
    warnings: [],
  };
}
