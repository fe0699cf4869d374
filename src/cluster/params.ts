// Cluster timing and key layout in one place (docs/cluster.md). A node's registration lives as long as its
// heartbeat keeps refreshing it: a killed node is seen gone within NODE_TTL_MS + HEARTBEAT_MS = 8 s (issue: ≤ 10 s).

/** How often a node refreshes its registration and looks for nodes that came or went. */
export const HEARTBEAT_MS = 2000;
/** A node whose registration was not refreshed for this long is dead: its entries are ignored, then removed. */
export const NODE_TTL_MS = 6000;
/**
 * Peer, group and publication entries carry a long expiry as a backstop only: liveness comes from the node's
 * registration, which every lookup checks, so an entry left by a crashed node is never an answer.
 */
export const ENTRY_TTL_S = 6 * 3600;
/** A lookup (rendezvous) never waits longer than this for Redis; after it the peer is "unknown". */
export const LOOKUP_TIMEOUT_MS = 1000;
/** Reconnection back-off to Redis: min(attempt × step, max). */
export const RECONNECT_STEP_MS = 200;
export const RECONNECT_MAX_MS = 2000;
