// The publication object: what is published under a name (client or script publication), its listeners and
// QoS, the Cumulus push methods (pushAudioPacket…) and the Mona ones (pushAudio, pushAMFData…), metadata
// (properties, writeProperties, clearProperties), flush and close. Assigning onAudio/onVideo/onData/onFlush
// on it subscribes the script to that publication's media (Mona); nothing is called for media otherwise.
import type { Listener, Publication } from '../../core/media/publication.ts';
import type { Publications } from '../../core/media/publications.ts';
import type { QualityOfService } from '../../core/media/qos.ts';
import type { ClientPort } from '../../core/ports.ts';
import { concat, utf8Encode } from '../../bytes.ts';
import { WireError } from '../../errors.ts';
import { AMFWriter } from '../../flash/amf/writer.ts';
import { isAMFObject, MixedArray, type AMFValue } from '../../flash/amf/types.ts';
import { decodeData, decodeTCMessage, TC } from '../../flash/tc.ts';
import { lua, lauxlib, toBytes, toText, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, type Method, madeOnFirstRead } from '../lua/object.ts';
import { pushNumber } from './amf-convert.ts';
import { pushCollection } from './collection.ts';
import type { HostContext } from './context.ts';
import { toJSON } from './json.ts';
import { toXMLRPC } from './xmlrpc.ts';
import { pushQOS } from './qos.ts';

export type MediaMethod = 'onAudio' | 'onVideo' | 'onData' | 'onFlush';
const MEDIA_METHODS = new Set<string>(['onAudio', 'onVideo', 'onData', 'onFlush']);

/** What the Lua objects of a publication hold: its table, the objects made for it, its media methods. */
export interface PublicationEntry {
  ref: number;
  /** other registry references to drop with it (QoS objects, listeners collection, properties) */
  readonly owned: number[];
  /** media events the script set on this publication's table (publication:onAudio...) */
  readonly methods: Set<MediaMethod>;
}

/**
 * What a publication object needs of the stream objects (StreamObjects in publications.ts, which makes
 * publication objects and so cannot be imported from here).
 */
export interface PublicationObjects {
  readonly ctx: HostContext;
  readonly publications: Publications;
  readonly onMethodsChanged: () => void;
  readonly onFlushed: (publication: Publication) => void;
  pushListener(listener: Listener, L: LuaState): void;
  pushClient(port: ClientPort | undefined, L: LuaState): void;
  scheduleSweep(): void;
}

const READ_ONLY = new Set([
  'name',
  'publisherId',
  'listeners',
  'audioQOS',
  'videoQOS',
  'dataQOS',
  'lastTime',
  'droppedFrames',
  'running',
  'properties',
]);

export function pushPublicationObject(objects: PublicationObjects, publication: Publication, entry: PublicationEntry): void {
  const { rt, conv } = objects.ctx;
  const L = rt.lua.L;
  // objects made on first read, then kept with the publication's
  const pushMade = madeOnFirstRead(entry.owned);
  // a client publication's latency is its publisher's ping; a script's, what pushAudio/pushVideo said
  const latency = (qos: QualityOfService) => (): number => publication.publisher?.client.ping ?? qos.latency;
  // publication.properties: the metadata last set (publisher's @setDataFrame or writeProperties), decoded
  // again only when it changed; its table is one of the publication's owned references
  const propertiesSlot = entry.owned.push(-1) - 1;
  let propertiesOf: Uint8Array | undefined | null = null;
  const pushProperties = (L1: LuaState): void => {
    if (propertiesOf !== publication.metadata || entry.owned[propertiesSlot]! < 0) {
      rt.lua.unref(entry.owned[propertiesSlot]!);
      propertiesOf = publication.metadata;
      conv.push(L1, metadataValues(publication.metadata));
      entry.owned[propertiesSlot] = lauxlib.luaL_ref(L1, lua.LUA_REGISTRYINDEX);
    }
    lua.lua_rawgeti(L1, lua.LUA_REGISTRYINDEX, entry.owned[propertiesSlot]!);
  };

  const optional = (L1: LuaState, idx: number, fallback: number): number =>
    lua.lua_type(L1, idx) === lua.LUA_TNUMBER ? lua.lua_tonumber(L1, idx) : fallback;
  const packetAt = (L1: LuaState, idx: number, offsetIdx: number | undefined): Uint8Array => {
    const bytes = toBytes(L1, idx);
    const offset = offsetIdx === undefined ? 0 : optional(L1, offsetIdx, 0);
    return offset > 0 ? bytes.subarray(Math.min(offset, bytes.length)) : bytes;
  };
  const time = (L1: LuaState, idx: number): number => lauxlib.luaL_checknumber(L1, idx) >>> 0;

  // Cumulus: pushAudioPacket(time, packet[, offset, lost]); Mona: pushAudio(time, packet[, ping])
  const pushMedia =
    (video: boolean, cumulus: boolean): Method =>
    (L1, a) => {
      const t = time(L1, a);
      const packet = packetAt(L1, a + 1, cumulus ? a + 2 : undefined);
      const lost = cumulus ? optional(L1, a + 3, 0) : 0;
      if (!cumulus && lua.lua_type(L1, a + 2) === lua.LUA_TNUMBER) {
        (video ? publication.videoQOS : publication.audioQOS).latency = lua.lua_tonumber(L1, a + 2);
      }
      if (video) publication.pushVideo(t, packet, lost);
      else publication.pushAudio(t, packet, lost);
      return 0;
    };
  const pushEncoded =
    (amf0Only: boolean): Method =>
    (L1, a) => {
      const writer = new AMFWriter({ ...conv.writeOptions, amf0Only });
      // an AMF3 data message (0x0f) starts with a format byte; AMF0 ones carry no switch to AMF3
      if (!amf0Only) writer.bytes.u8(0);
      for (const v of conv.range(L1, a, lua.lua_gettop(L1))) writer.write(v);
      publication.pushDataMessage(amf0Only ? TC.DATA_AMF0 : TC.DATA_AMF3, writer.toBytes());
      return 0;
    };

  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'name':
          lua.lua_pushliteral(L1, publication.name);
          return true;
        case 'publisherId':
          lua.lua_pushliteral(L1, publication.publisherId);
          return true;
        case 'listeners':
          pushMade(L1, key, () => pushListeners(L1, objects, publication));
          return true;
        case 'audioQOS':
          pushMade(L1, key, () => pushQOS(L1, publication.audioQOS, { latency: latency(publication.audioQOS) }));
          return true;
        case 'videoQOS':
          pushMade(L1, key, () =>
            pushQOS(L1, publication.videoQOS, {
              latency: latency(publication.videoQOS),
              droppedFrames: () => publication.droppedFrames,
            }),
          );
          return true;
        case 'dataQOS':
          pushMade(L1, key, () => pushQOS(L1, publication.dataQOS, { latency: latency(publication.dataQOS) }));
          return true;
        case 'lastTime':
          pushNumber(L1, publication.lastTime);
          return true;
        case 'droppedFrames':
          pushNumber(L1, publication.droppedFrames);
          return true;
        case 'running':
          lua.lua_pushboolean(L1, publication.running);
          return true;
        case 'properties':
          // {} while there are none (MonaServer gave nil): `publication.properties.width` never fails
          pushProperties(L1);
          return true;
      }
      // publication.width: a property (metadata) field by its name, as MonaServer reads them
      if (!publication.metadata) return false;
      pushProperties(L1);
      lua.lua_getfield(L1, -1, key);
      lua.lua_remove(L1, -2);
      if (lua.lua_type(L1, -1) !== lua.LUA_TNIL) return true;
      lua.lua_pop(L1, 1);
      return false;
    },
    set(L1, key, v) {
      if (READ_ONLY.has(key)) return readOnly(L1, key);
      if (MEDIA_METHODS.has(key)) {
        const method = key as MediaMethod;
        const had = entry.methods.has(method);
        if (lua.lua_type(L1, v) === lua.LUA_TFUNCTION) entry.methods.add(method);
        else entry.methods.delete(method);
        if (had !== entry.methods.has(method)) objects.onMethodsChanged();
      }
      return false;
    },
    methods: {
      pushAudioPacket: pushMedia(false, true),
      pushVideoPacket: pushMedia(true, true),
      pushAudio: pushMedia(false, false),
      pushVideo: pushMedia(true, false),
      pushDataPacket: (L1, a) => {
        publication.pushDataPacket(toText(L1, a), packetAt(L1, a + 1, a + 2));
        return 0;
      },
      pushData: (L1, a) => {
        const parts: Uint8Array[] = [];
        for (let i = a; i <= lua.lua_gettop(L1); i++) parts.push(toBytes(L1, i));
        publication.pushDataMessage(TC.DATA_AMF0, concat(...parts));
        return 0;
      },
      pushAMFData: pushEncoded(false),
      // Mona's text serializations go out as they are, a data message for listeners that read that format
      pushJSONData: (L1, a) => {
        publication.pushDataMessage(TC.DATA_AMF0, utf8Encode(toJSON(conv.range(L1, a, lua.lua_gettop(L1)))));
        return 0;
      },
      pushXMLRPCData: (L1, a) => {
        publication.pushDataMessage(TC.DATA_AMF0, utf8Encode(toXMLRPC(conv.range(L1, a, lua.lua_gettop(L1)))));
        return 0;
      },
      pushAMF0Data: pushEncoded(true),
      writeProperties: (L1, a) => {
        const writer = new AMFWriter({ ...conv.writeOptions, amf0Only: true });
        writer.write('@setDataFrame').write('onMetaData').write(conv.toAMF(L1, a));
        publication.pushDataMessage(TC.DATA_AMF0, writer.toBytes());
        return 0;
      },
      clearProperties: () => {
        publication.pushDataMessage(TC.DATA_AMF0, new AMFWriter({ amf0Only: true }).write('@clearDataFrame').toBytes());
        return 0;
      },
      flush: () => {
        publication.flush();
        if (entry.methods.has('onFlush')) objects.onFlushed(publication);
        return 0;
      },
      close: (L1, a) => {
        const publisher = publication.publisher;
        if (publisher) {
          const code = lua.lua_type(L1, a) > lua.LUA_TNIL ? toText(L1, a) : undefined;
          const description = lua.lua_type(L1, a + 1) > lua.LUA_TNIL ? toText(L1, a + 1) : undefined;
          publisher.close(code, description);
        } else {
          objects.publications.unpublish(publication);
        }
        objects.scheduleSweep();
        return 0;
      },
    },
  });
}

/** The values of a kept metadata message after its handler name: the onMetaData object, or {}. */
export function metadataValues(metadata: Uint8Array | undefined): AMFValue {
  if (!metadata) return {};
  try {
    const data = decodeData(decodeTCMessage(metadata));
    const first = data.args[0];
    if (isAMFObject(first) || first instanceof MixedArray) return first;
  } catch (error) {
    if (!(error instanceof WireError)) throw error;
  }
  return {};
}

/**
 * Pushes the `listeners` object of a publication: count, #, ipairs, by position, in arrival order;
 * pairs() gives client → listener and listeners[client] the client's listener, as MonaServer.
 */
function pushListeners(L: LuaState, objects: PublicationObjects, publication: Publication): void {
  pushCollection<Listener>(L, {
    items: () => [...publication.listeners.values()],
    key: (listener) => String(listener.id),
    pushKey: (L1, listener) => objects.pushClient(listener.client, L1),
    find: (L1, idx) => {
      if (lua.lua_type(L1, idx) !== lua.LUA_TTABLE) return undefined;
      for (const listener of publication.listeners.values()) {
        objects.pushClient(listener.client, L1);
        const same = lua.lua_rawequal(L1, idx, -1);
        lua.lua_pop(L1, 1);
        if (same) return listener;
      }
      return undefined;
    },
    push: (L1, listener) => objects.pushListener(listener, L1),
  });
}
