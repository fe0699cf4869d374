// Per-packet receive path: decodeChunks on a media-like packet, then FlowReceiver.onFragment and writeAck,
// in order and with every other packet arriving late. Run: node --import tsx bench/receiver.ts → JSON lines.
import { ByteWriter } from '../src/bytes.ts';
import { decodeChunks, writeUserData, type UserDataChunk } from '../src/protocols/rtmfp/wire/chunks.ts';
import { FlowReceiver } from '../src/protocols/rtmfp/flow/receiver.ts';

const DATA = 1150;
const WARMUP = 20_000;
const SECONDS = 1;

function packet(sequence: number): Uint8Array {
  const w = new ByteWriter(1300);
  w.u8(0x8d).u16(1).u16(2);
  writeUserData(w, 0, 3, sequence, 1, null, new Uint8Array(DATA));
  return w.bytes();
}

function measure(name: string, run: (i: number) => void): void {
  for (let i = 0; i < WARMUP; i++) run(i);
  let ops = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const deadline = start + BigInt(SECONDS * 1e9);
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 1000; i++) run(WARMUP + ops + i);
    ops += 1000;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const opsPerSec = ops / seconds;
  console.log(
    JSON.stringify({
      name,
      opsPerSec: Math.round(opsPerSec),
      usPerOp: +(1e6 / opsPerSec).toFixed(3),
      cpuUsPerOp: +((cpu.user + cpu.system) / ops).toFixed(3),
    }),
  );
}

const sample = packet(1);
measure('decodeChunks', () => decodeChunks(sample, 5));

let delivered = 0;
const ack = new ByteWriter(2048);
{
  const flow = new FlowReceiver(3, () => delivered++);
  const template = decodeChunks(sample, 5)[0] as UserDataChunk;
  measure('onFragment+writeAck in order', (i) => {
    const chunk = { ...template, sequence: i + 1, fsnOffset: i + 1 };
    flow.onFragment(chunk);
    ack.reset();
    flow.writeAck(ack);
  });
}
{
  const flow = new FlowReceiver(3, () => delivered++);
  const template = decodeChunks(sample, 5)[0] as UserDataChunk;
  measure('onFragment+writeAck pairs swapped', (i) => {
    const sequence = i % 2 === 0 ? i + 2 : i; // 2, 1, 4, 3, ...
    flow.onFragment({ ...template, sequence, fsnOffset: sequence });
    ack.reset();
    flow.writeAck(ack);
  });
}
console.log(JSON.stringify({ delivered }));
