// The publication object: what is published under a name (client or script publication), its listeners and
// QoS, the Cumulus push methods (pushAudioPacket…) and the Mona ones (pushAudio, pushAMFData…), metadata
// (properties, writeProperties, clearProperties), flush and close. Assigning onAudio/onVideo/onData/onFlush
// on it subscribes the script to that publication's media (Mona); nothing is called for media otherwise.
import type { Listener } from '../../media/listener.ts';
import type { Publication } from '../../media/publication.ts';
import { concat, WireError } from '../../wire/bytes.ts';
import { AMFWriter } from '../../wire/amf/writer.ts';
import { isAMFObject, MixedArray, type AMFValue } from '../../wire/amf/types.ts';
import { decodeData, decodeTCMessage, TC } from '../../wire/tc.ts';
import { lua, lauxlib, toBytes, toText, type LuaJSFunction, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly, type Method } from '../lua/object.ts';
import { pushNumber } from './amf-convert.ts';
import type { PublicationEntry, StreamObjects } from './publications.ts';
import { nth } from './publications.ts';
import { pushQOS } from './qos.ts';

export type MediaMethod = 'onAudio' | 'onVideo' | 'onData' | 'onFlush';
const MEDIA_METHODS = new Set<string>(['onAudio', 'onVideo', 'onData', 'onFlush']);

const READ_ONLY = new Set([
  'name', 'publisherId', 'listeners', 'audioQOS', 'videoQOS', 'dataQOS', 'lastTime', 'droppedFrames', 'running',
  'properties',
]);

export function pushPublicationObject(objects: StreamObjects, publication: Publication, entry: PublicationEntry): void {
  const { rt, conv } = objects.ctx;
  const L = rt.lua.L;
  // objects made on first read, then kept with the publication's
  const made = new Map<string, number>();
  const pushMade = (key: string, make: () => void): void => {
    let ref = made.get(key);
    if (ref === undefined) {
      make();
      ref = rt.lua.ref();
      made.set(key, ref);
      entry.owned.push(ref);
    }
    rt.lua.push(ref);
  };
  const publisherPing = (): number => publication.publisher?.client.ping ?? 0;
  // publication.properties: the metadata last set (publisher's @setDataFrame or writeProperties), decoded
  // again only when it changed; its table is one of the publication's owned references
  const propertiesSlot = entry.owned.push(-1) - 1;
  let propertiesOf: Uint8Array | undefined | null = null;
  const pushProperties = (L1: LuaState): void => {
    if (propertiesOf !== publication.metadata || entry.owned[propertiesSlot]! < 0) {
      rt.lua.unref(entry.owned[propertiesSlot]!);
      propertiesOf = publication.metadata;
      conv.push(L1, metadataValues(publication.metadata));
      entry.owned[propertiesSlot] = rt.lua.ref();
    }
    rt.lua.push(entry.owned[propertiesSlot]!);
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
  const pushMedia = (video: boolean, cumulus: boolean): Method => (L1, a) => {
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
  const pushEncoded = (amf0Only: boolean): Method => (L1, a) => {
    const writer = new AMFWriter({ ...conv.writeOptions, amf0Only });
    // an AMF3 data message (0x0f) starts with a format byte; AMF0 ones carry no switch to AMF3
    if (!amf0Only) writer.bytes.u8(0);
    for (const v of conv.range(L1, a, lua.lua_gettop(L1))) writer.write(v);
    publication.pushDataMessage(amf0Only ? TC.DATA_AMF0 : TC.DATA_AMF3, writer.toBytes());
    return 0;
  };
  const listeners = (): void => pushListeners(objects, publication);

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
          pushMade(key, listeners);
          return true;
        case 'audioQOS':
          pushMade(key, () => pushQOS(L1, publication.audioQOS, { latency: publisherPing }));
          return true;
        case 'videoQOS':
          pushMade(key, () =>
            pushQOS(L1, publication.videoQOS, { latency: publisherPing, droppedFrames: () => publication.droppedFrames }),
          );
          return true;
        case 'dataQOS':
          pushMade(key, () => pushQOS(L1, publication.dataQOS, { latency: publisherPing }));
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
          pushProperties(L1);
          return true;
      }
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

/** Pushes the `listeners` object of a publication: count, #, ipairs, by position, in arrival order. */
function pushListeners(objects: StreamObjects, publication: Publication): void {
  const L = objects.ctx.rt.lua.L;
  const list = publication.listeners;
  const at = (L1: LuaState, idx: number): boolean => {
    if (lua.lua_type(L1, idx) !== lua.LUA_TNUMBER) return false;
    const listener: Listener | undefined = nth(list.values(), lua.lua_tonumber(L1, idx));
    if (!listener) return false;
    objects.pushListener(listener);
    return true;
  };
  const ipairs: LuaJSFunction = (L1) => {
    const snapshot = [...list.values()];
    let i = 0;
    lua.lua_pushcfunction(L1, (L2) => {
      const listener = snapshot[i++];
      if (!listener) return 0;
      lua.lua_pushinteger(L2, i);
      objects.pushListener(listener);
      return 2;
    });
    return 1;
  };
  pushObject(L, {
    get(L1, key) {
      if (key !== 'count') return false;
      lua.lua_pushinteger(L1, list.size);
      return true;
    },
    set(L1, key) {
      return readOnly(L1, key);
    },
    index: at,
    methods: { ipairs: (L1) => ipairs(L1), pairs: (L1) => ipairs(L1) },
    meta(L1) {
      lua.lua_pushcfunction(L1, (L2) => {
        lua.lua_pushinteger(L2, list.size);
        return 1;
      });
      lua.lua_setfield(L1, -2, '__len');
      lua.lua_pushcfunction(L1, ipairs);
      lua.lua_setfield(L1, -2, '__pairs');
      lua.lua_pushcfunction(L1, (L2) => (at(L2, 2) ? 1 : 0));
      lua.lua_setfield(L1, -2, '__call');
    },
  });
}

