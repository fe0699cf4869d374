// What flows, writers and listeners carry, and their own numbers, read from the server's objects for the
// inspector: a writer knows only its bytes, so the NetStream that owns it says "audio of camera1"; a flow's
// metadata option says NetConnection, NetStream 3 or NetGroup. Rates come from counters sampled here.
import type { FlowWriter } from '../protocols/rtmfp/flow/writer.ts';
import type { Session } from '../protocols/rtmfp/session/session.ts';
import type { ServerClient } from '../protocols/rtmfp/client.ts';
import type { Listener } from '../core/media/publication.ts';
import { decodeVLU, hex } from '../bytes.ts';
import type { ActorView } from './tree.ts';

/** Per-second rates of an object's counters, over windows of at least a second (pages ask more often). */
export class RateMeter {
  private readonly samples = new WeakMap<object, { time: number; values: number[]; rates: number[] }>();

  rates(key: object, values: number[], now = Date.now()): number[] {
    const sample = this.samples.get(key);
    if (!sample) {
      this.samples.set(key, { time: now, values, rates: values.map(() => 0) });
      return values.map(() => 0);
    }
    const seconds = (now - sample.time) / 1000;
    if (seconds >= 0.9) {
      sample.rates = values.map((v, i) => Math.max(0, (v - (sample.values[i] ?? 0)) / seconds));
      sample.values = values;
      sample.time = now;
    }
    return sample.rates;
  }
}

export const kbps = (bytesPerSecond: number): number => Math.round((bytesPerSecond * 8) / 100) / 10;

/** What a flow signature (metadata option 0x00) means, as RTMFP.md §4.4 and §6.6 name them. */
export function signatureMeaning(signature: Uint8Array | undefined): { kind: string; streamId: number | undefined } {
  if (!signature) return { kind: 'no metadata', streamId: undefined };
  if (signature.length === 2 && signature[0] === 0x47 && signature[1] === 0x43) return { kind: 'NetGroup', streamId: undefined };
  if (signature.length >= 4 && signature[0] === 0x54 && signature[1] === 0x43 && (signature[2]! & 0x04) !== 0) {
    const id = decodeVLU(signature, 3);
    return id === 0 ? { kind: 'NetConnection', streamId: undefined } : { kind: 'NetStream', streamId: id };
  }
  return { kind: 'unknown metadata', streamId: undefined };
}

/** "publishes camera1", "plays camera1", or '' for a NetStream doing neither. */
function streamUse(client: ServerClient | undefined, streamId: number | undefined): string {
  const stream = streamId === undefined ? undefined : client?.netStreams.get(streamId);
  if (stream?.publishing) return `publishes ${stream.publishing.name}`;
  if (stream?.playing) return `plays ${stream.playing.publication.name}`;
  return '';
}

/** What each writer of a client's NetStreams carries, by writer. */
export function writerRoles(client: ServerClient | undefined): Map<FlowWriter, string> {
  const roles = new Map<FlowWriter, string>();
  if (!client) return roles;
  for (const [id, stream] of client.netStreams) {
    const name = stream.publishing?.name ?? stream.playing?.publication.name;
    const of = name ? ` of ${name}` : '';
    const { status, audio, video } = stream.writers;
    if (status) roles.set(status, `NetStream ${id} status and data${of}`);
    if (audio) roles.set(audio, `audio${of}`);
    if (video) roles.set(video, `video${of}`);
  }
  return roles;
}

export function writerView(writer: FlowWriter, role: string | undefined, client: ServerClient | undefined, meter: RateMeter): ActorView {
  const meaning = signatureMeaning(writer.signature);
  const carries =
    role ??
    (meaning.kind === 'NetConnection'
      ? 'NetConnection: results, status, messages to the client'
      : meaning.kind === 'NetGroup'
        ? 'NetGroup: peer introductions'
        : meaning.kind === 'NetStream'
          ? `NetStream ${meaning.streamId} ${streamUse(client, meaning.streamId)}`.trim()
          : meaning.kind);
  const backlog = writer.backlog;
  const stats = writer.stats;
  const [rate] = meter.rates(writer, [stats.bytesSent]);
  return {
    label: carries,
    brief: `${carries} · ${kbps(rate ?? 0)} kbit/s${backlog.queuedMessages + backlog.inFlightFragments > 0 ? ` · ${backlog.queuedMessages} queued, ${backlog.inFlightFragments} in flight` : ''}`,
    facts: {
      carries,
      signature: hex(writer.signature),
      meaning: meaning.streamId !== undefined ? `${meaning.kind} ${meaning.streamId}` : meaning.kind,
      answers: writer.associatedFlowId === undefined ? '' : `flow ${writer.associatedFlowId}`,
      reliable: writer.reliable ? 'yes' : 'no (media may be dropped)',
      kbps: kbps(rate ?? 0),
      queued: backlog.queuedMessages,
      queuedBytes: backlog.queuedBytes,
      inFlight: backlog.inFlightFragments,
      inFlightBytes: backlog.inFlightBytes,
      messagesQueued: stats.messagesQueued,
      fragmentsSent: stats.fragmentsSent,
      bytesOut: stats.bytesSent,
      retransmissions: stats.retransmissions,
      lostFragments: stats.lostFragments,
      droppedMessages: stats.droppedMessages,
    },
  };
}

type ReceivingFlow = ReturnType<Session['inspect']>['flows'][number];

export function flowView(flow: ReceivingFlow, client: ServerClient | undefined, meter: RateMeter): ActorView {
  const meaning = signatureMeaning(flow.signature);
  const use = streamUse(client, meaning.streamId);
  const carries =
    meaning.kind === 'NetConnection'
      ? 'NetConnection: connect, calls, setPeerInfo'
      : meaning.kind === 'NetGroup'
        ? 'NetGroup: join and leave'
        : meaning.kind === 'NetStream'
          ? `NetStream ${meaning.streamId}${use ? ` ${use}` : ''}`
          : `${meaning.kind} (refused)`;
  const receiver = flow.receiver;
  const [rate] = meter.rates(receiver, [receiver.bytesReceived]);
  return {
    label: carries,
    brief: `${carries} · ${kbps(rate ?? 0)} kbit/s`,
    facts: {
      carries,
      signature: flow.signature ? hex(flow.signature) : '',
      meaning: meaning.streamId !== undefined ? `${meaning.kind} ${meaning.streamId}` : meaning.kind,
      answers: flow.associatedFlowId === undefined ? '' : `writer ${flow.associatedFlowId}`,
      kbps: kbps(rate ?? 0),
      fragmentsIn: receiver.receivedFragments,
      bytesIn: receiver.bytesReceived,
      lostFragments: receiver.lostFragments,
      droppedFragments: receiver.droppedFragments,
      bufferedFragments: receiver.bufferedFragments,
      bufferedBytes: receiver.bufferedBytes,
    },
  };
}

/** One listener as the stream view and the tree show it. */
export interface ListenerRow {
  key: string;
  /** subscriber: "session:4" for an RTMFP client, the client's address otherwise */
  session: string;
  address: string;
  state: string;
  kbps: number;
  /** video frames skipped until a key frame, messages dropped behind a backlog */
  skippedUntilKeyFrame: number;
  droppedForCongestion: number;
  latency: number;
}

export function listenerRow(listener: Listener, sessionName: string): ListenerRow {
  const bytesPerSecond = listener.audioQOS.byteRate + listener.videoQOS.byteRate + listener.dataQOS.byteRate;
  return {
    key: listener.actor.sessionId,
    session: sessionName,
    address: listener.client?.address ?? '',
    state: listener.state,
    kbps: kbps(bytesPerSecond),
    skippedUntilKeyFrame: listener.skippedUntilKeyFrame,
    droppedForCongestion: listener.droppedForCongestion,
    latency: Math.max(listener.audioQOS.latency, listener.videoQOS.latency),
  };
}

export function listenerView(listener: Listener, sessionName: string): ActorView {
  const row = listenerRow(listener, sessionName);
  const tracks = [listener.receiveAudio ? 'audio' : '', listener.receiveVideo ? 'video' : '', 'data'].filter(Boolean).join(', ');
  const carries = `${tracks} of ${listener.publication.name} to ${sessionName || 'a script'}`;
  return {
    label: `${listener.publication.name} ${sessionName} ${row.address}`,
    brief: `${carries} · ${row.kbps} kbit/s${row.skippedUntilKeyFrame + row.droppedForCongestion > 0 ? ` · ${row.skippedUntilKeyFrame + row.droppedForCongestion} dropped` : ''}`,
    facts: {
      carries,
      stream: listener.publication.name,
      subscriber: sessionName,
      address: row.address,
      kbps: row.kbps,
      audioKbps: kbps(listener.audioQOS.byteRate),
      videoKbps: kbps(listener.videoQOS.byteRate),
      skippedUntilKeyFrame: row.skippedUntilKeyFrame,
      droppedForCongestion: row.droppedForCongestion,
      latency: row.latency,
      unbuffered: listener.unbuffered ? 'yes' : 'no',
    },
  };
}
