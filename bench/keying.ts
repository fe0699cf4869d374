// The responder's keying (what the server computes for an IIKeying: DH key pair, shared secret, session keys)
// per DH group, in this process on one core. `burst`: back to back, so the precomputed key pairs run out and each
// keying computes its own (the cost without the pool); `paced`: one keying per turn of the event loop, as
// handshakes arrive in practice, the pool refilled in between: `pathCpuMs` is what the answer waits for, `totalCpuMs`
// all CPU spent (refill included), `perSecondOneCore` = 1000 / totalCpuMs.
// Run: node --import tsx bench/keying.ts → one JSON object.
import { createServerCertificate } from '../src/protocols/rtmfp/crypto/certificate.ts';
import { createInitiatorIdentity, initiateKeying, respondToKeying } from '../src/protocols/rtmfp/crypto/keying.ts';
import { KEY_POOL_SIZE, type DHGroup } from '../src/protocols/rtmfp/crypto/dh.ts';
import { round } from './lib/measure.ts';

const N = 300;
const turn = () => new Promise((resolve) => setImmediate(resolve));
const cpuMsSince = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

function keyings(group: DHGroup, count: number) {
  const identity = createInitiatorIdentity(group === 2 ? 'flash' : 'rfc7425');
  identity.groups = [group];
  const certificate = createServerCertificate([group]);
  return Array.from({ length: count }, () => initiateKeying(identity, certificate, group === 2 ? 'flash' : 'rfc7425')!).map((k) => ({
    certificate: identity.certificate,
    skic: k.skic,
  }));
}

const result: Record<string, unknown> = { bench: 'keying', poolSize: KEY_POOL_SIZE };
for (const group of [2, 14, 16] as const) {
  const inputs = keyings(group, 2 * N + 20);
  // warm-up: code paths and the group's DiffieHellman context
  for (const k of inputs.splice(0, 20)) respondToKeying(k.certificate, k.skic, [group]);
  await turn();

  let cpu = process.cpuUsage();
  for (const k of inputs.splice(0, N)) if (!respondToKeying(k.certificate, k.skic, [group])) throw new Error('keying failed');
  const burstMs = cpuMsSince(cpu) / N;

  for (let i = 0; i < KEY_POOL_SIZE + 2; i++) await turn();
  let pathMs = 0;
  cpu = process.cpuUsage();
  for (const k of inputs.splice(0, N)) {
    // CPU time, not wall time: on a shared machine the wall time mostly measures the other processes
    const t = process.cpuUsage();
    if (!respondToKeying(k.certificate, k.skic, [group])) throw new Error('keying failed');
    pathMs += cpuMsSince(t);
    await turn();
  }
  const totalCpuMs = cpuMsSince(cpu) / N;
  result[`group${group}`] = {
    burstCpuMs: round(burstMs, 3),
    pathCpuMs: round(pathMs / N, 3),
    totalCpuMs: round(totalCpuMs, 3),
    perSecondOneCore: Math.round(1000 / totalCpuMs),
  };
}
console.log(JSON.stringify(result));
