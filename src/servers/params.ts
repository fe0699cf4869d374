// Parameters of the server link (MonaServer v1's server-to-server protocol, MonaServer-behaviour.md §1),
// in one place. Where MonaServer has a value it is cited; the bounds are ours: MonaServer has none.

/** MonaServer dials its targets every 16 s (§1.7, Servers::manage); we start faster and back off to it. */
export const RETRY_FIRST_MS = 1_000;
export const RETRY_MAX_MS = 16_000;

/** TCP connect of a target that does not answer (SYN dropped). */
export const CONNECT_TIMEOUT_MS = 5_000;

/** A link must complete the hello exchange in this time (slow-loris defence; MonaServer waits forever). */
export const GREETING_TIMEOUT_MS = 5_000;

/** A hello carries a whole configuration (~0.5 KB from MonaServer, §1.8): 64 KiB is generous. */
export const MAX_HELLO_BYTES = 64 * 1024;

/** Any frame after the hello: a media packet relayed by a script (a key frame) fits with room. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Bytes queued to a peer that does not read: past this the link is dropped, never memory grown. */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** Accepted sockets still in their hello: over this, new ones are refused (per address, and in total). */
export const MAX_GREETING_PER_ADDRESS = 4;
export const MAX_GREETING = 64;

/** Handler names are cut to 255 bytes (one length byte, §1.2, ServerConnection::send). */
export const MAX_HANDLER_BYTES = 255;

/**
 * Liveness between Nimbus nodes (both sides announce NIMBUS_KEY in their hello): a ping frame when nothing
 * was sent for PING_INTERVAL_MS, the link declared dead when nothing was heard for SILENCE_TIMEOUT_MS, so a
 * SIGKILLed or unplugged peer is seen within 10 s. A MonaServer peer never pings: TCP keepalive covers it.
 */
export const PING_INTERVAL_MS = 2_000;
export const SILENCE_TIMEOUT_MS = 7_000;
export const KEEPALIVE_MS = 5_000;

/** Hello key by which a Nimbus node tells a peer it pings (value: the Nimbus link version). */
export const NIMBUS_KEY = 'nimbus.link';
export const NIMBUS_LINK_VERSION = '1';
/** The handler name of the ping; never dispatched to scripts, never sent to a peer without NIMBUS_KEY. */
export const PING_HANDLER = 'nimbus.ping';
/** Reserved handler: the application paths loaded by the sender (§1.4). */
export const APPS_HANDLER = '.';
/** Hello key carrying [servers] secret (a MonaServer peer sends it as a target query: host:port?secret=...). */
export const SECRET_KEY = 'secret';

/** Reject texts MonaServer uses (§1.3). */
export const REJECT_DEFAULT = 'unknown error';
export const REJECT_STOPPING = 'Server is stopping';
