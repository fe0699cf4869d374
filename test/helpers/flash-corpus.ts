// The flash-11.7 capture opened into cleartexts (flags byte onward, padding included), with the keys its
// README gives, so that fuzzers can start from real packets instead of from nothing.
import { readFileSync } from 'node:fs';
import { fromHex } from '../../src/bytes.ts';
import { createPacketCipher, startupCipher, type PacketCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import { decodeChunks, CHUNK, type UserDataChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { readPacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';

const DIR = new URL('../../../shared/vectors/flash-11.7/', import.meta.url);
const SERVER_DECRYPT = fromHex('ca3e6206c4fe662bbd950e8d03574e35');
const SERVER_ENCRYPT = fromHex('bc4b145aafb0f8287b3cf87bd036acf0');

const STARTUP = ['IHello', 'RHello', 'IIKeying', 'RIKeying'];
const TO_SERVER = ['5', '7', '8', '10', '11'];
const TO_CLIENT = ['6', '9'];

export interface FlashCorpus {
  /** name → cleartext */
  startup: Map<string, Uint8Array>;
  session: Map<string, Uint8Array>;
  /** the user data payloads (TC messages) found in the session packets */
  messages: Uint8Array[];
}

function open(cipher: PacketCipher, name: string): Uint8Array {
  const clear = cipher.open(new Uint8Array(readFileSync(new URL(`${name}.dat`, DIR))));
  if (!clear) throw new Error(`vector ${name}.dat does not open`);
  return clear;
}

export function loadFlashCorpus(): FlashCorpus {
  const server = createPacketCipher(SERVER_ENCRYPT, SERVER_DECRYPT);
  const client = createPacketCipher(SERVER_DECRYPT, SERVER_ENCRYPT);
  const startup = new Map(STARTUP.map((name) => [name, open(startupCipher, name)] as const));
  const session = new Map([
    ...TO_SERVER.map((name) => [name, open(server, name)] as const),
    ...TO_CLIENT.map((name) => [name, open(client, name)] as const),
  ]);
  const messages: Uint8Array[] = [];
  for (const clear of session.values()) {
    for (const chunk of decodeChunks(clear, readPacketHeader(clear).chunksOffset)) {
      if (chunk.type === CHUNK.USER_DATA && (chunk as UserDataChunk).data.length > 0) messages.push((chunk as UserDataChunk).data);
    }
  }
  return { startup, session, messages };
}
