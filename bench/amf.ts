// AMF encode/decode of typical messages: the connect command, a status reply, and an application call
// carrying a nested AMF3 object. Run: node --import tsx bench/amf.ts → one JSON line per measurement.
import { decodeCommand, decodeTCMessage, encodeCommand, encodeStatus } from '../src/flash/tc.ts';
import type { AMFObject } from '../src/flash/amf/index.ts';

const WARMUP = 20_000;
const SECONDS = 1;

function measure(name: string, bytes: number, run: () => void): void {
  for (let i = 0; i < WARMUP; i++) run();
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(SECONDS * 1e9);
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 100; i++) run();
    ops += 100;
  }
  const opsPerSec = ops / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(JSON.stringify({ name, bytes, opsPerSec: Math.round(opsPerSec), usPerOp: +(1e6 / opsPerSec).toFixed(3) }));
}

const connectObject: AMFObject = {
  app: 'live',
  flashVer: 'WIN 11,7,700,202',
  swfUrl: undefined,
  tcUrl: 'rtmfp://example.org/live',
  fpad: false,
  capabilities: 235,
  audioCodecs: 3575,
  videoCodecs: 252,
  videoFunction: 1,
  pageUrl: undefined,
  objectEncoding: 3,
};
const status: AMFObject = {
  level: 'status',
  code: 'NetConnection.Connect.Success',
  description: 'Connection succeeded',
  objectEncoding: 3,
};
const payload: AMFObject = {
  users: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `user${i}`, score: i * 1.5, online: i % 2 === 0 })),
  when: new Date(0),
};

const connect = encodeCommand('connect', 1, connectObject, []);
const call = encodeCommand('update', 0, null, [payload]);

measure('encode connect (AMF0)', connect.length, () => encodeCommand('connect', 1, connectObject, []));
measure('decode connect (AMF0)', connect.length, () => decodeCommand(decodeTCMessage(connect)));
measure('encode _result status (AMF0)', encodeStatus('_result', 1, status).length, () => encodeStatus('_result', 1, status));
measure('encode call with nested object (AMF3)', call.length, () => encodeCommand('update', 0, null, [payload]));
measure('decode call with nested object (AMF3)', call.length, () => decodeCommand(decodeTCMessage(call)));
