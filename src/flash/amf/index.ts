export * from './types.ts';
export { AMF0, writeAMF0String } from './amf0.ts';
export { AMF3, isAMF3Integer, readU29, writeU29, type AMF3Traits } from './amf3.ts';
export { AMFReader, type AMFReadOptions, type AMF3Input } from './reader.ts';
export { AMFWriter, type AMFWriteOptions, type AMF3Output } from './writer.ts';
