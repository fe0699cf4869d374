// A bare UDP socket that goes through the RTMFP handshake by hand (IHello → RHello → IIKeying → RIKeying) and
// then stops, or sends a packet under the session keys: what a slot-exhaustion attacker does. It can also
// replay a recorded IIKeying, from itself or from another socket.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { ByteWriter, equalBytes, utf8Encode } from '../../src/bytes.ts';
import {
  createInitiatorIdentity,
  initiateKeying,
  type InitiatorIdentity,
  type SessionKeys,
} from '../../src/protocols/rtmfp/crypto/keying.ts';
import { createPacketCipher, readSessionId, startupCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import {
  CHUNK,
  decodeChunks,
  writeChunk,
  type Chunk,
  type RedirectChunk,
  type RHelloChunk,
  type RIKeyingChunk,
} from '../../src/protocols/rtmfp/wire/chunks.ts';
import { MODE, readPacketHeader, writePacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';
import { writeOption } from '../../src/protocols/rtmfp/wire/options.ts';

/** One keyed (half-open) session as the attacker holds it. */
export interface Keyed {
  initiatorSessionId: number;
  responderSessionId: number;
  keys: SessionKeys;
  /** the IIKeying datagram as sent, for replays */
  iiKeying: Uint8Array;
  cookie: Uint8Array;
}

const identities = new Map<string, InitiatorIdentity>();

export class Keyer {
  readonly socket = dgram.createSocket('udp4');
  /** startup chunks received, with the session id they were sent to */
  readonly received: Array<{ id: number; chunk: Chunk }> = [];
  /** one reused key pair, as the attack campaign did (DH work is the server's, not ours) */
  readonly identity: InitiatorIdentity;

  private constructor(readonly port: number) {
    let identity = identities.get('flash');
    if (!identity) identities.set('flash', (identity = createInitiatorIdentity('flash')));
    this.identity = identity;
  }

  static async open(serverPort: number): Promise<Keyer> {
    const k = new Keyer(serverPort);
    await new Promise<void>((resolve) => k.socket.bind(0, '127.0.0.1', resolve));
    k.socket.on('message', (m) => {
      const datagram = new Uint8Array(m.buffer, m.byteOffset, m.length);
      const clear = startupCipher.open(datagram);
      if (!clear) return;
      try {
        for (const chunk of decodeChunks(clear, readPacketHeader(clear).chunksOffset))
          k.received.push({ id: readSessionId(datagram), chunk });
      } catch {
        // not a startup packet
      }
    });
    return k;
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  send(datagram: Uint8Array): void {
    this.socket.send(datagram, this.port, '127.0.0.1');
  }

  private async wait<T extends Chunk>(match: (e: { id: number; chunk: Chunk }) => boolean, ms = 1_000): Promise<T | undefined> {
    for (let waited = 0; waited < ms; waited += 5) {
      const found = this.received.find(match);
      if (found) return found.chunk as T;
      await new Promise((r) => setTimeout(r, 5));
    }
    return undefined;
  }

  /** IHello for `path`: the RHello, or the Redirect (empty: server busy), or undefined when nothing came. */
  async hello(path = 'test'): Promise<RHelloChunk | RedirectChunk | undefined> {
    const tag = randomBytes(16);
    const epd = new ByteWriter(64);
    writeOption(epd, 0x0a, utf8Encode(`rtmfp://127.0.0.1:${this.port}/${path}`));
    this.send(startup(0, { type: CHUNK.IHELLO, epd: [], epdRaw: epd.bytes(), tag }));
    return this.wait<RHelloChunk | RedirectChunk>((e) => 'tag' in e.chunk && equalBytes((e.chunk as { tag: Uint8Array }).tag, tag));
  }

  /** IIKeying with `cookie`: its datagram, and the keying to complete with the RIKeying. */
  iiKeying(rhello: RHelloChunk, initiatorSessionId = (randomBytes(4).readUInt32BE(0) | 1) >>> 0) {
    const keying = initiateKeying(this.identity, rhello.certificate, 'flash');
    if (!keying) throw new Error('no usable DH group');
    const datagram = startup(0, {
      type: CHUNK.IIKEYING,
      initiatorSessionId,
      cookie: rhello.cookie,
      certificate: this.identity.certificate,
      skic: keying.skic,
      signedParameters: new Uint8Array(0),
      signature: Uint8Array.of(0x58),
    });
    return { datagram, keying, initiatorSessionId };
  }

  /** The RIKeying sent to `initiatorSessionId`, if one comes within `ms`. */
  riKeying(initiatorSessionId: number, ms = 1_000): Promise<RIKeyingChunk | undefined> {
    return this.wait((e) => e.id === initiatorSessionId && e.chunk.type === CHUNK.RIKEYING, ms);
  }

  /** IHello, IIKeying, RIKeying: a keyed session on the server, or why not. */
  async key(path = 'test'): Promise<Keyed | 'busy' | 'silent'> {
    const hello = await this.hello(path);
    if (!hello) return 'silent';
    if (hello.type === CHUNK.REDIRECT) return 'busy';
    const rhello = hello;
    const { datagram, keying, initiatorSessionId } = this.iiKeying(rhello);
    this.send(datagram);
    const ri = await this.riKeying(initiatorSessionId);
    if (!ri) return 'silent';
    const keys = keying.complete(ri.skrc);
    if (!keys) throw new Error('responder keying rejected');
    return { initiatorSessionId, responderSessionId: ri.responderSessionId, keys, iiKeying: datagram, cookie: rhello.cookie };
  }

  /** A ping under the session keys: the server's session becomes keyed (open, connecting). */
  ping(keyed: Keyed): void {
    const cipher = createPacketCipher(keyed.keys.encryptKey, keyed.keys.decryptKey, keyed.keys.protection);
    const w = new ByteWriter(32);
    writePacketHeader(w, MODE.INITIATOR, 0);
    writeChunk(w, { type: CHUNK.PING, payload: Uint8Array.of(1, 2, 3) });
    this.send(cipher.seal(keyed.responderSessionId, w.bytes()));
  }
}

function startup(farId: number, chunk: Chunk): Uint8Array {
  const w = new ByteWriter(512);
  writePacketHeader(w, MODE.STARTUP, 0);
  writeChunk(w, chunk);
  return startupCipher.seal(farId, w.bytes());
}
