// Packet header, the cleartext after the checksum (RFC 7016 §2.2.4): `flags u8 | [timestamp u16] |
// [timestamp echo u16] | chunks`. Timestamps count 4 ms ticks modulo 65536.

import { ByteWriter } from '../../../bytes.ts';
import { WireError } from '../../../errors.ts';

export const MODE = { INITIATOR: 1, RESPONDER: 2, STARTUP: 3 } as const;

export const PACKET_FLAG = {
  /** Time critical: the sender is sending time-critical (media) data. */
  TC: 0x80,
  /** Time critical reverse: the sender recently received time-critical data from other sessions. */
  TCR: 0x40,
  TIMESTAMP: 0x08,
  TIMESTAMP_ECHO: 0x04,
  MODE_MASK: 0x03,
} as const;

export interface PacketHeader {
  flags: number;
  mode: number;
  timestamp?: number;
  timestampEcho?: number;
  /** Offset of the first chunk in the cleartext. */
  chunksOffset: number;
}

/** `cleartext` starts at the flags byte. Mode 0 is invalid and rejected. */
export function readPacketHeader(cleartext: Uint8Array): PacketHeader {
  const n = cleartext.length;
  if (n < 1) throw new WireError('packet has no flags byte', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
  const flags = cleartext[0]!;
  const mode = flags & PACKET_FLAG.MODE_MASK;
  if (mode === 0) throw new WireError('packet mode 0');
  let at = 1;
  const header: PacketHeader = { flags, mode, chunksOffset: 0 };
  if (flags & PACKET_FLAG.TIMESTAMP) {
    if (at + 2 > n) throw new WireError('truncated timestamp', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    header.timestamp = (cleartext[at]! << 8) | cleartext[at + 1]!;
    at += 2;
  }
  if (flags & PACKET_FLAG.TIMESTAMP_ECHO) {
    if (at + 2 > n) throw new WireError('truncated timestamp echo', { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
    header.timestampEcho = (cleartext[at]! << 8) | cleartext[at + 1]!;
    at += 2;
  }
  header.chunksOffset = at;
  return header;
}

/** The TS/TSE flags follow from which of timestamp/timestampEcho are given; extraFlags adds TC/TCR. */
export function writePacketHeader(w: ByteWriter, mode: number, timestamp?: number, timestampEcho?: number, extraFlags = 0): void {
  let flags = (mode & PACKET_FLAG.MODE_MASK) | (extraFlags & (PACKET_FLAG.TC | PACKET_FLAG.TCR));
  if (timestamp !== undefined) flags |= PACKET_FLAG.TIMESTAMP;
  if (timestampEcho !== undefined) flags |= PACKET_FLAG.TIMESTAMP_ECHO;
  w.u8(flags);
  if (timestamp !== undefined) w.u16(timestamp & 0xffff);
  if (timestampEcho !== undefined) w.u16(timestampEcho & 0xffff);
}

/** Bytes writePacketHeader produces. */
export function packetHeaderSize(timestamp: boolean, timestampEcho: boolean): number {
  return 1 + (timestamp ? 2 : 0) + (timestampEcho ? 2 : 0);
}

/** Our timestamp for a clock reading in milliseconds: 4 ms ticks modulo 65536. */
export function timestampNow(nowMs: number): number {
  // ToInt32 inside `&` is exact modulo 2^32 for any safe integer, so large epochs are fine.
  return Math.floor(nowMs / 4) & 0xffff;
}
