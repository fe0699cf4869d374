// The listener object: one subscriber of a publication, as onSubscribe/onUnsubscribe and publication.listeners
// show it. Sample access and the receive switches are live: set in onSubscribe they shape what the player
// gets from its very first message.
import type { Listener, Publication } from '../../core/media/publication.ts';
import type { ClientPort } from '../../core/ports.ts';
import { lua, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, madeOnFirstRead } from '../lua/object.ts';
import { pushNumber } from './amf-convert.ts';
import { queryValue } from './client.ts';
import type { HostContext } from './context.ts';
import { pushQOS } from './qos.ts';
import type { AMFObject } from '../../flash/amf/types.ts';

const READ_ONLY = new Set(['id', 'client', 'publication', 'parameters', 'audioQOS', 'videoQOS', 'dataQOS']);
const SWITCHES = new Set(['audioSampleAccess', 'videoSampleAccess', 'receiveAudio', 'receiveVideo']);
type Switch = 'audioSampleAccess' | 'videoSampleAccess' | 'receiveAudio' | 'receiveVideo';

/**
 * What a listener object needs of the stream objects (StreamObjects in publications.ts, which makes
 * listener objects and so cannot be imported from here).
 */
export interface ListenerObjects {
  readonly ctx: HostContext;
  pushClient(port: ClientPort | undefined, L: LuaState): void;
  pushPublication(publication: Publication, L: LuaState): void;
}

/** Pushes a new listener object; the references it makes for its parts are added to `owned`. */
export function pushListenerObject(objects: ListenerObjects, listener: Listener, owned: number[]): void {
  const { rt, conv } = objects.ctx;
  const L = rt.lua.L;
  const pushMade = madeOnFirstRead(owned);
  const ping = (): number => listener.client?.ping ?? 0;

  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'id':
          pushNumber(L1, listener.id);
          return true;
        case 'client':
          objects.pushClient(listener.client, L1);
          return true;
        case 'publication':
          objects.pushPublication(listener.publication, L1);
          return true;
        case 'parameters':
          pushMade(L1, key, () => {
            // typed as the client's URL arguments are: numbers and booleans as such
            const parameters: AMFObject = {};
            for (const [k, v] of Object.entries(listener.parameters)) parameters[k] = queryValue(v);
            conv.push(L1, parameters);
          });
          return true;
        case 'audioQOS':
          pushMade(L1, key, () => pushQOS(L1, listener.audioQOS, { latency: ping }));
          return true;
        case 'videoQOS':
          pushMade(L1, key, () => pushQOS(L1, listener.videoQOS, { latency: ping }));
          return true;
        case 'dataQOS':
          pushMade(L1, key, () => pushQOS(L1, listener.dataQOS, { latency: ping }));
          return true;
        case 'audioSampleAccess':
        case 'videoSampleAccess':
        case 'receiveAudio':
        case 'receiveVideo':
          lua.lua_pushboolean(L1, listener[key]);
          return true;
      }
      // the play name's query values (stream?e=...) as dynamic properties, like a client's
      if (Object.hasOwn(listener.parameters, key)) {
        conv.push(L1, queryValue(listener.parameters[key]!));
        return true;
      }
      return false;
    },
    set(L1, key, v) {
      if (READ_ONLY.has(key)) return readOnly(L1, key);
      if (!SWITCHES.has(key)) return false;
      listener[key as Switch] = lua.lua_toboolean(L1, v);
      return true;
    },
  });
}
