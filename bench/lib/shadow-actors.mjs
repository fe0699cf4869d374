// Preload (node --import) for bench/xstate-share.ts: every actor of a connection's lifecycle (session, receiving
// flow, writer, listener) gets a shadow, an actor of the same machine whose key binds it to no core, started,
// sent every event and stopped with it. Its actions and guards find no core (they are optional calls), so the
// server behaves as without it while doing XState's share of the work twice: the difference in server CPU
// between a server with this preload and one without is what XState costs inside the server.
// NIMBUS_SHADOW_COUNT_FILE=<path>: the number of shadows made is written there when the process exits.
import { writeFileSync } from 'node:fs';
import { Actor } from 'xstate';

const LIFECYCLE_MACHINES = new Set(['session', 'flow', 'writer', 'listener']);
let shadows = 0;

const { start, send, stop, _stop } = Actor.prototype;
const shadowOf = new WeakMap();

Actor.prototype.start = function () {
  if (LIFECYCLE_MACHINES.has(this.logic.id) && !shadowOf.has(this) && !this.isShadow) {
    const { clock, parent, inspect, input } = this.options;
    const shadow = new Actor(this.logic, { clock, parent, inspect, input: input === undefined ? undefined : { ...input, key: 0 } });
    shadow.isShadow = true;
    shadowOf.set(this, shadow);
    shadows++;
    start.call(shadow);
  }
  return start.call(this);
};
Actor.prototype.send = function (event) {
  const shadow = shadowOf.get(this);
  if (shadow) send.call(shadow, event);
  return send.call(this, event);
};
// a child of the shared system is stopped through _stop (src/actors/system.ts stopActor), a root through stop
Actor.prototype._stop = function () {
  const shadow = shadowOf.get(this);
  if (shadow) _stop.call(shadow);
  return _stop.call(this);
};
Actor.prototype.stop = function () {
  const shadow = shadowOf.get(this);
  if (shadow) (shadow._parent ? _stop : stop).call(shadow);
  return stop.call(this);
};

const countFile = process.env.NIMBUS_SHADOW_COUNT_FILE;
if (countFile) process.on('exit', () => writeFileSync(countFile, String(shadows)));
