// One read of a server's live objects, protocol by protocol, for /metrics and the JSON API (src/inspector/
// metrics.ts, api.ts): sessions with their counters, clients, publications with their listeners, groups.
// Nothing is kept: each call walks the maps the protocols already hold.
import type { Core } from '../core/core.ts';
import type { ClientPort, ProtocolName } from '../core/ports.ts';
import type { RtmfpServer } from '../protocols/rtmfp/server.ts';
import type { RtmpServer } from '../protocols/rtmp/server.ts';
import { hex } from '../bytes.ts';
import { formatEndpoint } from '../protocols/rtmfp/client.ts';

/** What the API and the metrics read: the core and the protocol servers of one Nimbus. */
export interface ViewedServer {
  readonly core: Core;
  readonly rtmfp: RtmfpServer;
  readonly rtmp?: RtmpServer | undefined;
}

export interface SessionView {
  protocol: ProtocolName;
  /** the protocol's own id (RTMFP near session id, RTMP connection number) */
  id: number;
  state: string;
  address: string;
  client: ClientPort | undefined;
  bytesIn: number;
  bytesOut: number;
  /** RTMFP packets, RTMP messages in (RTMP has no packets out count) */
  packetsIn: number;
  packetsOut: number;
  retransmissions: number;
  /** ms */
  rtt: number;
}

export function sessionsOf(server: ViewedServer): SessionView[] {
  const out: SessionView[] = [];
  for (const [id, session] of server.rtmfp.sessions) {
    const { stats } = session;
    out.push({
      protocol: 'RTMFP',
      id,
      state: session.state,
      address: formatEndpoint(session.address),
      client: server.rtmfp.clients.get(id),
      bytesIn: stats.bytesIn,
      bytesOut: stats.bytesOut,
      packetsIn: stats.packetsIn,
      packetsOut: stats.packetsOut,
      retransmissions: stats.retransmissions,
      rtt: Math.round(session.srtt),
    });
  }
  for (const [id, connection] of server.rtmp?.connections ?? []) {
    out.push({
      protocol: 'RTMP',
      id,
      state: connection.state,
      address: connection.address,
      client: connection.client,
      bytesIn: connection.stats.bytesIn,
      bytesOut: connection.stats.bytesOut,
      packetsIn: connection.stats.messagesIn,
      packetsOut: 0,
      retransmissions: 0,
      rtt: Math.round(connection.rtt),
    });
  }
  return out;
}

/** A client's public id: its 32-byte id in hex (RTMFP: the peer id). */
export function clientId(client: ClientPort): string {
  return hex(client.rawId);
}
