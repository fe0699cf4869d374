// Cluster mode: the automatic behaviours a deployment of N nodes needs, with no script code. It sits between
// the protocols and the application as an ApplicationPort around the application's own, so the script is
// asked first and wins: a rendezvous goes to the directory only when the application's onRendezVousUnknown
// redirected nowhere.
import type { Logger } from '../log.ts';
import type {
  ApplicationPort,
  CallOutcome,
  ClientPort,
  ConnectionVerdict,
  GroupPort,
  GroupsPort,
  HandshakeRedirect,
  MemberPort,
  PathCheck,
  PeerServerPort,
  ProtocolName,
} from '../core/ports.ts';
import type { Publications } from '../core/media/publications.ts';
import { StreamRelay } from './relay.ts';
import type { AMFValue } from '../flash/amf/types.ts';
import type { AMFReadOptions } from '../flash/amf/reader.ts';
import type { AMFWriteOptions } from '../flash/amf/writer.ts';
import type { Directory, DirectoryEvent, NodeInfo } from './directory.ts';
import type { StreamEvents, StreamVerdict } from '../core/media/publications.ts';
import type { Listener, Publication } from '../core/media/publication.ts';

interface RemoteMember {
  member: MemberPort;
  node: string;
}

/** Hello key by which a node names itself to the nodes it links with. */
export const NODE_KEY = 'cluster.node';

export interface ClusterOptions {
  directory: Directory;
  /** the server's NetGroups, where remote members are added as virtual members */
  groups: () => GroupsPort | undefined;
  publications: Publications;
  /** opens a server link to host:port, redialled while down, until stop() */
  dial: (host: string, port: number) => { stop(): void };
  logger: Logger;
}

export class Cluster {
  readonly directory: Directory;
  private readonly groups: () => GroupsPort | undefined;
  private readonly logger: Logger;
  /** group id → peer id → the virtual member standing for a member held by another node */
  private readonly remote = new Map<string, Map<string, RemoteMember>>();
  readonly relay: StreamRelay;
  private readonly dial: ClusterOptions['dial'];
  private readonly publications: Publications;
  /** links to other nodes by node id, once their hello named them */
  private readonly links = new Map<string, PeerServerPort>();
  /** the links this node dials (to nodes of a greater id: one link per pair) */
  private readonly dialled = new Map<string, { stop(): void }>();

  constructor(options: ClusterOptions) {
    this.directory = options.directory;
    this.groups = options.groups;
    this.logger = options.logger;
    this.dial = options.dial;
    this.publications = options.publications;
    this.relay = new StreamRelay(options.publications, options.logger);
    this.directory.on('event', (event) => this.onEvent(event));
    this.directory.on('node-down', (node) => this.onNodeDown(node));
    this.directory.on('node-up', (node) => this.onNodeUp(node));
  }

  /** The link to a node, when it is up. */
  linkTo(nodeId: string): PeerServerPort | undefined {
    return this.links.get(nodeId);
  }

  // ---- server links ---------------------------------------------------------------------------------
  private onNodeUp(node: NodeInfo): void {
    this.logger.info({ node: node.id, name: node.name, address: node.publicAddress }, 'cluster node up');
    // the node of the smaller id dials, so each pair has one link
    const at = node.link.lastIndexOf(':');
    if (at <= 0 || this.directory.self.id > node.id || this.dialled.has(node.id)) return;
    const host = node.link.slice(0, at).replace(/^\[|\]$/g, '');
    this.dialled.set(node.id, this.dial(host, Number(node.link.slice(at + 1))));
  }

  linkUp(link: PeerServerPort): void {
    const id = link.configs.get(NODE_KEY);
    if (id) this.links.set(id, link);
  }

  linkDown(link: PeerServerPort): void {
    const id = link.configs.get(NODE_KEY);
    if (id && this.links.get(id) === link) this.links.delete(id);
    this.relay.onLinkClosed(link);
  }

  /** Edge: a player here for a stream no client publishes here: pull it from its origin. */
  async pullFor(name: string): Promise<void> {
    if (this.relay.isCopy(name)) return;
    const origin = await this.directory.originOf(name);
    if (!origin) return;
    const link = this.links.get(origin.id);
    if (!link) {
      this.logger.warn({ stream: name, node: origin.id }, `no link to ${origin.name}, origin of ${name}`);
      return;
    }
    this.relay.pull(name, link);
  }

  /** The application as protocols see it in cluster mode. */
  wrap(application: ApplicationPort): ApplicationPort {
    return new ClusterApplication(application, this);
  }

  /** The application's stream events, plus the directory's publication entries. */
  wrapStreams(events: StreamEvents): StreamEvents {
    return new ClusterStreams(events, this);
  }

  // ---- called by ClusterApplication -------------------------------------------------------------------
  connected(client: ClientPort): void {
    if (client.protocol === 'RTMFP') this.directory.addPeer(idOf(client));
  }

  disconnected(client: ClientPort): void {
    if (client.protocol === 'RTMFP') this.directory.removePeer(idOf(client));
  }

  /** A local member: published to the other nodes, and the members they hold become virtual members here. */
  joined(client: ClientPort, group: GroupPort): void {
    const peer = idOf(client);
    this.directory.joinGroup(group.id, peer);
    void this.directory.remoteMembers(group.id).then((members) => {
      for (const [id, node] of members) this.addRemote(group.id, id, node.id);
    });
  }

  unjoined(client: ClientPort, group: GroupPort): void {
    this.directory.leaveGroup(group.id, idOf(client));
    // the virtual members served only the local ones: none left, nothing to keep
    const remaining = group.clients().filter((other) => other !== client).length;
    if (remaining === 0) this.releaseGroup(group.id);
  }

  /** Where another node holds this peer: its public address, one step for the requester. */
  async locate(peerId: string): Promise<HandshakeRedirect> {
    const node = await this.directory.locatePeer(peerId);
    return node ? [node.publicAddress] : [];
  }

  // ---- directory events ---------------------------------------------------------------------------
  private onEvent(event: DirectoryEvent): void {
    if (event.type === 'publish') {
      this.onRemotePublish(event.name, event.node);
    } else if (event.type === 'group-join') {
      const local = this.groups()?.group(event.group);
      if (local && local.size > 0) this.addRemote(event.group, event.peer, event.node);
    } else if (event.type === 'group-leave') {
      const members = this.remote.get(event.group);
      const remote = members?.get(event.peer);
      if (remote && remote.node === event.node) {
        members!.delete(event.peer);
        remote.member.release();
        if (members!.size === 0) this.remote.delete(event.group);
      }
    }
  }

  /**
   * A stream published on another node: players here that subscribed before it existed (waiting, as for a
   * local publication not started yet) get it now, pulled from that node.
   */
  private onRemotePublish(name: string, node: string): void {
    const waiting = this.publications.get(name);
    if (!waiting || waiting.running || waiting.listeners.size === 0 || this.relay.isCopy(name)) return;
    const link = this.links.get(node);
    if (link) this.relay.pull(name, link);
  }

  private onNodeDown(node: NodeInfo): void {
    this.logger.info({ node: node.id, name: node.name }, 'cluster node down');
    this.dialled.get(node.id)?.stop();
    this.dialled.delete(node.id);
    for (const [group, members] of this.remote) {
      for (const [peer, remote] of members) {
        if (remote.node !== node.id) continue;
        members.delete(peer);
        remote.member.release();
      }
      if (members.size === 0) this.remote.delete(group);
    }
  }

  private addRemote(group: string, peer: string, node: string): void {
    let members = this.remote.get(group);
    if (members?.has(peer)) return;
    const member = this.groups()?.join(peer, group);
    if (!member) return;
    if (!members) this.remote.set(group, (members = new Map()));
    members.set(peer, { member, node });
  }

  private releaseGroup(group: string): void {
    const members = this.remote.get(group);
    if (!members) return;
    this.remote.delete(group);
    for (const remote of members.values()) remote.member.release();
  }

  /** Virtual members standing for remote ones, for tests and the inspector. */
  remoteMembers(group: string): string[] {
    return [...(this.remote.get(group)?.keys() ?? [])];
  }
}

function idOf(client: ClientPort): string {
  return Buffer.from(client.rawId).toString('hex');
}

/** The application, asked first; the cluster adds its part around each answer. */
class ClusterApplication implements ApplicationPort {
  constructor(
    private readonly inner: ApplicationPort,
    private readonly cluster: Cluster,
  ) {}

  get amfReadOptions(): AMFReadOptions | undefined {
    return this.inner.amfReadOptions;
  }

  get amfWriteOptions(): AMFWriteOptions | undefined {
    return this.inner.amfWriteOptions;
  }

  start(): void {
    this.inner.start();
  }

  stop(): void {
    this.inner.stop();
  }

  onConnection(client: ClientPort, args: AMFValue[]): ConnectionVerdict {
    const verdict = this.inner.onConnection(client, args);
    if (verdict.accepted) this.cluster.connected(client);
    return verdict;
  }

  onDisconnection(client: ClientPort): void {
    this.cluster.disconnected(client);
    this.inner.onDisconnection(client);
  }

  onFailed(client: ClientPort, error: string): void {
    this.inner.onFailed(client, error);
  }

  onAddressChanged(client: ClientPort, oldAddress: string): void {
    this.inner.onAddressChanged(client, oldAddress);
  }

  onCall(client: ClientPort, name: string, transactionId: number, args: AMFValue[]): CallOutcome {
    return this.inner.onCall(client, name, transactionId, args);
  }

  onHandshake(address: string, path: string, properties: Record<string, string>, attempts: number): HandshakeRedirect {
    return this.inner.onHandshake(address, path, properties, attempts);
  }

  onRendezVousUnknown(peerId: string, protocol: ProtocolName): HandshakeRedirect {
    return this.inner.onRendezVousUnknown(peerId, protocol);
  }

  locatePeer(peerId: string): Promise<HandshakeRedirect> {
    return this.cluster.locate(peerId);
  }

  onServerConnection(server: PeerServerPort): string | undefined {
    const refusal = this.inner.onServerConnection?.(server);
    if (refusal === undefined) this.cluster.linkUp(server);
    return refusal;
  }

  onServerMessage(server: PeerServerPort, handler: string, payload: Uint8Array): void {
    if (this.cluster.relay.onMessage(server, handler, payload)) return;
    this.inner.onServerMessage?.(server, handler, payload);
  }

  onServerDisconnection(server: PeerServerPort, error: string | undefined): void {
    this.cluster.linkDown(server);
    this.inner.onServerDisconnection?.(server, error);
  }

  onJoinGroup(client: ClientPort, group: GroupPort): void {
    this.inner.onJoinGroup(client, group);
    this.cluster.joined(client, group);
  }

  onUnjoinGroup(client: ClientPort, group: GroupPort): void {
    this.inner.onUnjoinGroup(client, group);
    this.cluster.unjoined(client, group);
  }

  onManage(): void {
    this.inner.onManage();
  }

  resolvePath(path: string): PathCheck {
    return this.inner.resolvePath(path);
  }
}

/** Stream events: the application decides; an accepted client publication is entered in the directory. */
class ClusterStreams implements StreamEvents {
  private readonly directory: Directory;

  constructor(
    private readonly inner: StreamEvents,
    private readonly cluster: Cluster,
  ) {
    this.directory = cluster.directory;
  }

  // media hooks read through: the application hooks and unhooks them as its scripts change, and an absent
  // hook costs nothing per packet
  get onAudio(): StreamEvents['onAudio'] {
    return this.inner.onAudio;
  }

  get onVideo(): StreamEvents['onVideo'] {
    return this.inner.onVideo;
  }

  get onData(): StreamEvents['onData'] {
    return this.inner.onData;
  }

  get onFlush(): StreamEvents['onFlush'] {
    return this.inner.onFlush;
  }

  onPublish(client: ClientPort, publication: Publication): StreamVerdict {
    const verdict = this.inner.onPublish(client, publication);
    if (verdict.allowed) this.directory.publish(publication.name);
    return verdict;
  }

  onUnpublish(client: ClientPort, publication: Publication): void {
    this.directory.unpublish(publication.name);
    this.inner.onUnpublish(client, publication);
  }

  onSubscribe(client: ClientPort, listener: Listener): StreamVerdict {
    const verdict = this.inner.onSubscribe(client, listener);
    // authorized here, where the player is; a stream nobody publishes here may come from another node
    if (verdict.allowed && !listener.publication.running) void this.cluster.pullFor(listener.publication.name);
    return verdict;
  }

  onUnsubscribe(client: ClientPort, listener: Listener): void {
    this.inner.onUnsubscribe(client, listener);
    const publication = listener.publication;
    if (!this.cluster.relay.isCopy(publication.name)) return;
    // after the listener has left: the copy ends with its last player
    setImmediate(() => {
      if (publication.listeners.size === 0) this.cluster.relay.release(publication.name);
    });
  }
}
