// AES-128-CBC over 1,200-byte packets, both directions, both BlockCipher implementations; then the whole
// PacketCipher path (seal / open) in the Flash profile and with HMAC-16 + sseq.
// Run: node --import tsx bench/cipher.ts   → one JSON line per measurement.
import { randomBytes } from 'node:crypto';
import { createBlockCipher, loadBlockCipher, type CipherImpl } from '../src/protocols/rtmfp/crypto/aes.ts';
import { createPacketCipher, type Protection } from '../src/protocols/rtmfp/crypto/packet-cipher.ts';

await loadBlockCipher('noble');

const BYTES = 1200;
const WARMUP = 2000;
const SECONDS = 1;

function measure(impl: CipherImpl, direction: string, run: () => void, extra: Record<string, unknown> = {}): void {
  for (let i = 0; i < WARMUP; i++) run();
  let ops = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const deadline = start + BigInt(SECONDS * 1e9);
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 100; i++) run();
    ops += 100;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const opsPerSec = ops / seconds;
  console.log(
    JSON.stringify({
      impl,
      direction,
      ...extra,
      bytes: BYTES,
      opsPerSec: Math.round(opsPerSec),
      usPerOp: +(1e6 / opsPerSec).toFixed(3),
      MBps: +((opsPerSec * BYTES) / 1e6).toFixed(1),
      cpuUsPerOp: +((cpu.user + cpu.system) / ops).toFixed(3),
    }),
  );
}

for (const impl of ['noble', 'node'] as const) {
  const cipher = createBlockCipher(randomBytes(16), impl);
  const packet = new Uint8Array(randomBytes(BYTES));
  measure(impl, 'encrypt', () => cipher.encrypt(packet));
  measure(impl, 'decrypt', () => cipher.decrypt(packet));
}

const key = new Uint8Array(randomBytes(16));
const macKey = new Uint8Array(randomBytes(32));
const profiles: Record<string, Protection> = {
  flash: { sendHMACLength: 0, recvHMACLength: 0, sendSequence: false, recvSequence: false },
  'hmac16+sseq': {
    sendHMACLength: 16,
    recvHMACLength: 16,
    sendHMACKey: macKey,
    recvHMACKey: macKey,
    sendSequence: true,
    recvSequence: false,
  },
};
const cleartext = new Uint8Array(randomBytes(BYTES - 4 - 2 - 16));
for (const impl of ['noble', 'node'] as const) {
  for (const [profile, protection] of Object.entries(profiles)) {
    const cipher = createPacketCipher(key, key, protection, impl);
    const datagram = cipher.seal(1, cleartext);
    measure(impl, 'seal', () => cipher.seal(1, cleartext), { layer: 'packet', profile });
    // sseq off on receive so that the same datagram can be opened again and again
    measure(
      impl,
      'open',
      () => {
        if (cipher.open(datagram) === null) throw new Error('open failed');
      },
      { layer: 'packet', profile },
    );
  }
}
