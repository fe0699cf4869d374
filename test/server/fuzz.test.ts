// Robustness of the receive path against hostile input. Decoder level: mutants of the real Flash capture
// (re-sealed with the startup key so that they pass the checksum and reach the chunk parser) and raw
// garbage must make the decoders throw WireError or succeed, nothing else. Live: a running server under
// the same kinds of garbage keeps serving a well-behaved client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { concat } from '../../src/bytes.ts';
import { WireError } from '../../src/errors.ts';
import { createPacketCipher, startupCipher, type PacketCipher } from '../../src/protocols/rtmfp/crypto/packet-cipher.ts';
import { NetConnection, CallError } from '../../src/client/index.ts';
import { CHUNK, decodeChunks, type UserDataChunk } from '../../src/protocols/rtmfp/wire/chunks.ts';
import { readPacketHeader } from '../../src/protocols/rtmfp/wire/packet.ts';
import { TC, decodeCommand, decodeData, decodeTCMessage, decodeUserControl } from '../../src/flash/tc.ts';
import { AMFReader } from '../../src/flash/amf/reader.ts';
import { loadFlashCorpus } from '../helpers/flash-corpus.ts';
import { mutantOf } from '../helpers/mutate.ts';
import { clientInternals, startWatchedServer } from '../helpers/watched-server.ts';

const SEED = 0x4e696d62; // fixed: a failure names its counterexample and replays identically
const corpus = loadFlashCorpus();
const packets = [...corpus.startup.values(), ...corpus.session.values()];

/** Runs `decode`, letting only WireError through as an expected outcome. */
function onlyWireError(decode: () => void): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof WireError)) throw error;
  }
}

/** Every AMF decoder entry point on one TC message, the way a session's NetConnection flow would reach them. */
function decodeMessage(message: Uint8Array): void {
  onlyWireError(() => {
    const tc = decodeTCMessage(message);
    if (tc.type === TC.COMMAND_AMF0 || tc.type === TC.COMMAND_AMF3) decodeCommand(tc);
    else if (tc.type === TC.DATA_AMF0 || tc.type === TC.DATA_AMF3) decodeData(tc);
    else if (tc.type === TC.USER_CONTROL) decodeUserControl(tc);
  });
  onlyWireError(() => new AMFReader(message.subarray(5)).readAll());
  onlyWireError(() => {
    const r = new AMFReader(message);
    while (r.available > 0) r.readAMF3();
  });
}

/** The supervisor's path for a datagram: checksum, header, chunks, then each user data message. */
function decodeSealed(cleartext: Uint8Array): void {
  const opened = startupCipher.open(startupCipher.seal(0, cleartext));
  assert.ok(opened, 're-sealed packet passes the checksum');
  onlyWireError(() => {
    const chunks = decodeChunks(opened, readPacketHeader(opened).chunksOffset);
    for (const chunk of chunks) {
      if (chunk.type === CHUNK.USER_DATA) decodeMessage((chunk as UserDataChunk).data);
    }
  });
}

test('the corpus decodes cleanly before mutation', () => {
  assert.equal(packets.length, 11);
  for (const clear of packets) decodeChunks(clear, readPacketHeader(clear).chunksOffset);
  assert.equal(corpus.messages.length, 4);
});

test('mutated vector packets, re-sealed, raise nothing but WireError in header and chunk decoding', { timeout: 120_000 }, () => {
  fc.assert(fc.property(mutantOf(packets), decodeSealed), { seed: SEED, numRuns: 6_000 });
});

test('random cleartexts raise nothing but WireError', { timeout: 120_000 }, () => {
  const cleartext = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 1_300 }),
    // a valid header and chunk framing around random chunk bodies reaches the per-type readers
    fc
      .tuple(
        fc.constantFrom(0x0b, 0x0d, 0x4d, 0x8d, 0x09, 0x89),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 80 })), { maxLength: 5 }),
      )
      .map(([flags, chunks]) => {
        const parts: number[] = [flags, 0x12, 0x34];
        for (const [type, body] of chunks) parts.push(type, body.length >> 8, body.length & 0xff, ...body);
        return Uint8Array.from(parts);
      }),
  );
  fc.assert(fc.property(cleartext, decodeSealed), { seed: SEED, numRuns: 4_000 });
});

test('mutated TC messages raise nothing but WireError in decodeCommand, decodeData and AMFReader', { timeout: 120_000 }, () => {
  fc.assert(fc.property(mutantOf(corpus.messages, 8), decodeMessage), { seed: SEED, numRuns: 6_000 });
});

test('random AMF raises nothing but WireError', { timeout: 120_000 }, () => {
  const message = fc
    .tuple(fc.constantFrom(0x14, 0x11, 0x12, 0x0f, 0x04), fc.uint8Array({ maxLength: 200 }))
    .map(([type, body]) => Uint8Array.from([type, 0, 0, 0, 0, ...(type === 0x11 || type === 0x0f ? [0] : []), ...body]));
  fc.assert(fc.property(message, decodeMessage), { seed: SEED, numRuns: 4_000 });
});

// ------------------------------------------------------------------------------------------------ live

const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number): T[] => fc.sample(arbitrary, { seed: SEED, numRuns });

/** Chunk decoding rejects it: the server must drop the whole packet whatever key sealed it. */
function rejectedByDecoder(cleartext: Uint8Array): boolean {
  try {
    decodeChunks(cleartext, readPacketHeader(cleartext).chunksOffset);
    return false;
  } catch (error) {
    if (error instanceof WireError) return true;
    throw error;
  }
}

/** Carries a Close or Close Acknowledgement chunk, counting one that only fits once sealing pads the packet. */
function closes(cleartext: Uint8Array): boolean {
  const padded = concat(cleartext, new Uint8Array(16).fill(0xff));
  try {
    return decodeChunks(padded, readPacketHeader(padded).chunksOffset).some((c) => c.type === CHUNK.CLOSE || c.type === CHUNK.CLOSE_ACK);
  } catch (error) {
    if (error instanceof WireError) return false;
    throw error;
  }
}

/** Sends each datagram from `socket`, yielding to the event loop every few so loopback buffers keep up. */
async function sendAll(socket: dgram.Socket, port: number, datagrams: readonly Uint8Array[]): Promise<void> {
  for (let i = 0; i < datagrams.length; i++) {
    socket.send(datagrams[i]!, port, '127.0.0.1');
    if (i % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function withBadMAC(cipher: PacketCipher, sessionId: number, cleartext: Uint8Array, flip: number): Uint8Array {
  const datagram = cipher.seal(sessionId, cleartext);
  datagram[datagram.length - 1 - (flip % 10)]! ^= 1 + (flip % 255);
  return datagram;
}

test('a live server under garbage keeps serving a well-behaved client', { timeout: 120_000 }, async () => {
  // the startup budget lifted: every mutated startup packet must reach the decoders (flood.test.ts tests the budget)
  const watched = await startWatchedServer(['--RTMFP.startupPacketsPerSecond=1000000']);
  const { server, port, url } = watched;
  const attacker = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => attacker.bind(0, '127.0.0.1', resolve));
  attacker.on('message', () => {}); // RHellos to mutated IHellos come back here
  const opened: NetConnection[] = [];
  try {
    const good = await NetConnection.connect(url, { style: 'rfc7425' });
    const victim = await NetConnection.connect(url, { style: 'flash' });
    opened.push(good, victim);
    const goodSide = clientInternals(good);
    const victimSide = clientInternals(victim);
    const malformedBefore = server.stats.malformed;

    const startup = [corpus.startup.get('IHello')!, corpus.startup.get('IIKeying')!];
    const session = ['5', '7', '8', '10', '11'].map((name) => corpus.session.get(name)!);
    const wrongKeys = createPacketCipher(new Uint8Array(16).fill(7), new Uint8Array(16).fill(9));
    const garbage = {
      // from a stranger: mangled handshakes, random datagrams, and packets under real session ids without the keys
      stranger: [
        ...sample(mutantOf(startup), 600).map((clear) => startupCipher.seal(0, clear)),
        ...sample(fc.uint8Array({ maxLength: 1_200 }), 300),
        ...sample(fc.tuple(mutantOf(session), fc.nat()), 300).map(([clear, flip]) =>
          withBadMAC(goodSide.cipher, goodSide.serverSessionId, clear, flip),
        ),
        ...sample(mutantOf(session), 300).map((clear) => wrongKeys.seal(victimSide.serverSessionId, clear)),
      ],
      // with the well-behaved client's keys, from its own address: only what the chunk decoder rejects, since
      // a well-formed mutant (a Close chunk, a forged ack) is the protocol working and would rightly hurt it
      good: sample(mutantOf(session), 1_500)
        .filter(rejectedByDecoder)
        .map((clear) => goodSide.cipher.seal(goodSide.serverSessionId, clear)),
      // with the victim's keys, anything but a close (which would end the session and the test's reach)
      victim: sample(mutantOf(session), 1_000)
        .filter((clear) => !closes(clear))
        .map((clear) => victimSide.cipher.seal(victimSide.serverSessionId, clear)),
    };
    assert.ok(garbage.good.length > 100);

    let calls = 0;
    const wellBehaved = (async () => {
      for (let i = 0; i < 40; i++) {
        assert.equal(typeof (await good.createStream()), 'number');
        await assert.rejects(good.call('noSuchMethod', i), CallError);
        calls++;
      }
    })();
    await Promise.all([
      sendAll(attacker, port, garbage.stranger),
      sendAll(goodSide.socket, port, garbage.good),
      sendAll(victimSide.socket, port, garbage.victim),
    ]);
    await wellBehaved;

    assert.equal(calls, 40);
    assert.ok(server.stats.malformed > malformedBefore + garbage.good.length / 2, `malformed ${server.stats.malformed}`);
    assert.deepEqual(watched.errors, [], 'no exception other than WireError reached the supervisor');
    assert.equal(server.sessions.get(goodSide.serverSessionId)?.state, 'open');
    // nothing it received closed the victim's session either: no session died of its input
    assert.equal(server.sessions.get(victimSide.serverSessionId)?.state, 'open');

    const late = await NetConnection.connect(url, { style: 'flash' });
    opened.push(late);
    assert.equal(typeof (await late.createStream()), 'number');
  } finally {
    for (const nc of opened) nc.destroy();
    attacker.close();
    await watched.close();
  }
});
