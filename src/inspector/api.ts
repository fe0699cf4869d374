// The JSON API on the inspector's HTTP server, for scripts and dashboards, working with no page open
// (anchors: mediamtx's /v3/paths/list and /v3/rtmpconns/kick, SRS's /api/v1/clients and /api/v1/streams):
//   GET  /api/v1/clients                 clients with their session's numbers and their streams
//   GET  /api/v1/streams                 publications: publisher, listeners, kbit/s, drops
//   GET  /api/v1/groups                  NetGroups and their members
//   POST /api/v1/clients/{id}/close      disconnects a client (id: 64 hex characters)
//   POST /api/v1/streams/{name}/close    ends a publication (name URL-encoded)
// Access is the inspector's: its token (?token= or Authorization: Bearer) when one is set, else loopback names.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientPort } from '../core/ports.ts';
import type { Listener, Publication } from '../core/media/publication.ts';
import type { QualityOfService } from '../core/media/qos.ts';
import { clientId, sessionsOf, type SessionView, type ViewedServer } from './server-view.ts';

const PREFIX = '/api/v1/';

/** Most entries in one answer: a server with more clients answers with the first ones and says how many there are. */
export const MAX_ITEMS = 10_000;

export class Api {
  constructor(private readonly server: ViewedServer) {}

  /** true when the request was for the API (answered here) */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (!url.pathname.startsWith(PREFIX)) return false;
    const path = url.pathname.slice(PREFIX.length);
    const method = req.method ?? 'GET';
    const close = /^(clients|streams)\/(.+)\/close$/.exec(path);
    if (close) {
      if (method !== 'POST') return answer(res, 405, { error: 'POST only' }, { allow: 'POST' });
      req.resume(); // no body is read
      return close[1] === 'clients' ? this.closeClient(res, decode(close[2]!)) : this.closeStream(res, decode(close[2]!));
    }
    const list: Record<string, () => unknown[]> = {
      clients: () => this.clients(),
      streams: () => this.streams(),
      groups: () => this.groups(),
    };
    const read = Object.hasOwn(list, path) ? list[path] : undefined;
    if (!read) return answer(res, 404, { error: `no such resource: ${url.pathname}` });
    if (method !== 'GET' && method !== 'HEAD') return answer(res, 405, { error: 'GET only' }, { allow: 'GET, HEAD' });
    const items = read();
    return answer(res, 200, { count: items.length, items: items.slice(0, MAX_ITEMS) });
  }

  clients(): unknown[] {
    const publishing = new Map<ClientPort, string[]>();
    const playing = new Map<ClientPort, string[]>();
    for (const publication of this.server.core.publications) {
      const publisher = publication.publisher?.client;
      if (publisher) publishing.set(publisher, [...(publishing.get(publisher) ?? []), publication.name]);
      for (const listener of publication.listeners.values()) {
        if (listener.client) playing.set(listener.client, [...(playing.get(listener.client) ?? []), publication.name]);
      }
    }
    const sessions = new Map<ClientPort, SessionView>();
    for (const session of sessionsOf(this.server)) if (session.client) sessions.set(session.client, session);
    return [...this.server.core.clients].map((client) => {
      const session = sessions.get(client);
      return {
        id: clientId(client),
        protocol: client.protocol,
        address: client.address,
        path: client.path,
        ping: client.ping,
        session: session && {
          id: session.id,
          state: session.state,
          bytesIn: session.bytesIn,
          bytesOut: session.bytesOut,
          packetsIn: session.packetsIn,
          packetsOut: session.packetsOut,
          retransmissions: session.retransmissions,
          rtt: session.rtt,
        },
        publishing: publishing.get(client) ?? [],
        playing: playing.get(client) ?? [],
      };
    });
  }

  streams(): unknown[] {
    return [...this.server.core.publications].map((publication) => streamView(publication));
  }

  groups(): unknown[] {
    return [...this.server.rtmfp.groups].map((group) => ({
      id: group.id,
      members: group.size,
      clients: group.clients().map((client) => ({ id: clientId(client), address: client.address })),
    }));
  }

  private closeClient(res: ServerResponse, id: string): boolean {
    const client = [...this.server.core.clients].find((candidate) => clientId(candidate) === id.toLowerCase());
    if (!client) return answer(res, 404, { error: `no client ${id}` });
    client.writer.close();
    return answer(res, 200, { closed: 'client', id: clientId(client), address: client.address });
  }

  private closeStream(res: ServerResponse, name: string): boolean {
    const publication = this.server.core.publications.get(name);
    if (!publication) return answer(res, 404, { error: `no stream ${JSON.stringify(name)}` });
    // a client's publication ends as publication:close() without a code ends it; a script's is unpublished
    if (publication.publisher) publication.publisher.close();
    else this.server.core.publications.unpublish(publication);
    return answer(res, 200, { closed: 'stream', name });
  }
}

function streamView(publication: Publication): unknown {
  const publisher = publication.publisher?.client;
  return {
    name: publication.name,
    state: publication.state,
    publisher: publisher ? { id: clientId(publisher), protocol: publisher.protocol, address: publisher.address } : null,
    kbps: { audio: kbps(publication.audioQOS), video: kbps(publication.videoQOS), data: kbps(publication.dataQOS) },
    /** video frames skipped by listeners, all of them (waiting for a key frame or congestion) */
    droppedFrames: publication.droppedFrames,
    listeners: [...publication.listeners.values()].map(listenerView),
  };
}

function listenerView(listener: Listener): unknown {
  const client = listener.client;
  return {
    id: listener.id,
    state: listener.state,
    client: client ? { id: clientId(client), protocol: client.protocol, address: client.address } : null,
    kbps: kbps(listener.audioQOS) + kbps(listener.videoQOS) + kbps(listener.dataQOS),
    drops: { videoFrames: listener.videoQOS.droppedFrames, audioMessages: listener.droppedMessages },
  };
}

function kbps(qos: QualityOfService): number {
  return Math.round((qos.byteRate * 8) / 100) / 10;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(`${JSON.stringify(body)}\n`);
  return true;
}
