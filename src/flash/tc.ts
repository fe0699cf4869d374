// RTMP "TC" messages carried one per RTMFP message on NetConnection/NetStream flows (RTMFP.md §5.1–5.3):
// type u8 | timestamp u32 | payload. No chunk header, stream ID or length: the flow implies them.

import { ByteReader, ByteWriter } from '../bytes.ts';
import { WireError } from '../errors.ts';
import { AMFReader, type AMFReadOptions } from './amf/reader.ts';
import { AMFWriter, type AMFWriteOptions } from './amf/writer.ts';
import type { AMFObject, AMFValue } from './amf/types.ts';

export const TC = {
  SET_CHUNK_SIZE: 0x01, // not used over RTMFP; the GC join message reuses the value
  USER_CONTROL: 0x04,
  AUDIO: 0x08,
  VIDEO: 0x09,
  DATA_AMF3: 0x0f,
  SHARED_OBJECT_AMF3: 0x10,
  COMMAND_AMF3: 0x11,
  DATA_AMF0: 0x12,
  SHARED_OBJECT_AMF0: 0x13,
  COMMAND_AMF0: 0x14,
  AGGREGATE: 0x16,
} as const;

/** User Control event types (message type 0x04). */
export const UserControl = {
  STREAM_BEGIN: 0x0000,
  STREAM_EOF: 0x0001,
  SET_BUFFER_LENGTH: 0x0003,
  PING_REQUEST: 0x0006,
  PING_RESPONSE: 0x0007,
  FLOW_SYNC: 0x0022,
  SET_KEEPALIVE_TIMERS: 0x0029,
} as const;

export interface TCMessage {
  type: number;
  time: number;
  /** everything after type and timestamp (the 0x0f/0x11 format byte included) */
  body: Uint8Array;
}

export interface TCCommand {
  name: string;
  transactionId: number;
  commandObject: AMFValue;
  args: AMFValue[];
}

export interface TCData {
  name: string;
  args: AMFValue[];
}

export interface TCUserControl {
  event: number;
  /** the u32 fields of the event (stream ID, buffer length, keepalive periods…) */
  values: number[];
}

const HEADER_SIZE = 5;

export function decodeTCMessage(message: Uint8Array): TCMessage {
  if (message.length < HEADER_SIZE) throw new WireError(`TC message of ${message.length} bytes`, { code: 'NIMBUS_ERR_WIRE_TRUNCATED' });
  const r = new ByteReader(message);
  const type = r.u8();
  const time = r.u32();
  return { type, time, body: r.rest() };
}

export function encodeTCMessage(type: number, time: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, time >>> 0);
  out.set(body, HEADER_SIZE);
  return out;
}

/** The AMF0 payload of a message: AMF3-typed messages start with a format byte that carries nothing. */
function payloadReader(msg: TCMessage, options: AMFReadOptions | undefined): AMFReader {
  const r = new ByteReader(msg.body);
  if (msg.type === TC.DATA_AMF3 || msg.type === TC.COMMAND_AMF3) r.skip(1);
  return new AMFReader(r, options);
}

function readName(r: AMFReader, what: string): string {
  const name = r.readAMF0();
  if (typeof name !== 'string') throw new WireError(`${what} name is not a string`);
  return name;
}

/** Command messages (0x14, 0x11): name, transaction ID, command object, arguments. */
export function decodeCommand(msg: TCMessage, options?: AMFReadOptions): TCCommand {
  if (msg.type !== TC.COMMAND_AMF0 && msg.type !== TC.COMMAND_AMF3) {
    throw new WireError(`TC type 0x${msg.type.toString(16)} is not a command`);
  }
  const r = payloadReader(msg, options);
  const name = readName(r, 'command');
  let transactionId = 0;
  let commandObject: AMFValue = null;
  // a bare name is tolerated: the transaction ID and command object are then absent
  if (r.available > 0) {
    const txn = r.readAMF0();
    if (typeof txn !== 'number') throw new WireError('command transaction ID is not a number');
    transactionId = txn;
    if (r.available > 0) commandObject = r.readAMF0();
  }
  return { name, transactionId, commandObject, args: r.readAll() };
}

/** Data messages (0x0f, 0x12): handler name and arguments, no transaction ID. */
export function decodeData(msg: TCMessage, options?: AMFReadOptions): TCData {
  if (msg.type !== TC.DATA_AMF0 && msg.type !== TC.DATA_AMF3) {
    throw new WireError(`TC type 0x${msg.type.toString(16)} is not a data message`);
  }
  const r = payloadReader(msg, options);
  const name = readName(r, 'data');
  return { name, args: r.readAll() };
}

export function decodeUserControl(msg: TCMessage): TCUserControl {
  if (msg.type !== TC.USER_CONTROL) throw new WireError(`TC type 0x${msg.type.toString(16)} is not user control`);
  const r = new ByteReader(msg.body);
  const event = r.u16();
  const values: number[] = [];
  while (r.available >= 4) values.push(r.u32());
  return { event, values };
}

function startMessage(type: number, writer: AMFWriter): void {
  writer.bytes.u8(type).u32(0);
  if (type === TC.DATA_AMF3 || type === TC.COMMAND_AMF3) writer.bytes.u8(0);
}

/**
 * A command as servers send it (type 0x14, timestamp 0): name, transaction ID and command object in
 * AMF0, then the arguments as the client's encoding wants them.
 */
export function encodeCommand(
  name: string,
  transactionId: number,
  commandObject: AMFValue,
  args: AMFValue[],
  options?: AMFWriteOptions,
): Uint8Array {
  const w = new AMFWriter(options);
  startMessage(TC.COMMAND_AMF0, w);
  w.writeAMF0(name).writeAMF0(transactionId).writeAMF0(commandObject);
  for (const arg of args) w.write(arg);
  return w.toBytes();
}

/** `_result` / `_error` / `onStatus` with a null command object and an info object, all AMF0. */
export function encodeStatus(name: '_result' | '_error' | 'onStatus', transactionId: number, info: AMFObject): Uint8Array {
  const w = new AMFWriter({ amf0Only: true });
  startMessage(TC.COMMAND_AMF0, w);
  w.writeAMF0(name).writeAMF0(transactionId).writeAMF0(null).writeAMF0(info);
  return w.toBytes();
}

/** A data message (type 0x0f with its format byte, timestamp 0): handler name, then arguments. */
export function encodeData(name: string, args: AMFValue[], options?: AMFWriteOptions): Uint8Array {
  const w = new AMFWriter(options);
  startMessage(TC.DATA_AMF3, w);
  w.writeAMF0(name);
  for (const arg of args) w.write(arg);
  return w.toBytes();
}

/** A User Control event (type 0x04, timestamp 0), e.g. 0x29 Set Keepalive Timers with two periods in ms. */
export function encodeUserControl(event: number, ...u32s: number[]): Uint8Array {
  const w = new ByteWriter(HEADER_SIZE + 2 + 4 * u32s.length);
  w.u8(TC.USER_CONTROL).u32(0).u16(event);
  for (const v of u32s) w.u32(v);
  return w.bytes();
}
