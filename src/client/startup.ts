// Reading a startup packet (session id 0, the default key) as an initiator does, for the NetConnection's handshake
// with a server and the peer hub's with other peers.
import { WireError } from '../errors.ts';
import { startupCipher } from '../protocols/rtmfp/crypto/packet-cipher.ts';
import { decodeChunks, type Chunk } from '../protocols/rtmfp/wire/chunks.ts';
import { readPacketHeader } from '../protocols/rtmfp/wire/packet.ts';

export interface StartupPacket {
  /** its first chunk (a handshake packet carries one) */
  chunk: Chunk;
  /** the sender's timestamp and when it arrived: what the session's first packets echo (Session's handshakeTimestamp) */
  heard: { timestamp: number; receivedAt: number } | undefined;
}

/** The startup packet in `datagram`, or undefined when it does not open under the default key or does not parse. */
export function readStartupPacket(datagram: Uint8Array, receivedAt: number): StartupPacket | undefined {
  const cleartext = startupCipher.open(datagram);
  if (!cleartext) return undefined;
  try {
    const header = readPacketHeader(cleartext);
    const chunk = decodeChunks(cleartext, header.chunksOffset)[0];
    if (!chunk) return undefined;
    return { chunk, heard: header.timestamp === undefined ? undefined : { timestamp: header.timestamp, receivedAt } };
  } catch (error) {
    if (error instanceof WireError) return undefined;
    throw error;
  }
}
