// The QualityOfService object (publication.audioQOS, listener.videoQOS…): a read-only view of the counters
// the relay keeps from real traffic, read live on each access so a script polling it sees current values.
import type { QualityOfService } from '../../core/media/qos.ts';
import { lua, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly } from '../lua/object.ts';
import { pushNumber } from './amf-convert.ts';

export interface QOSSources {
  /** where droppedFrames comes from when it is not the QoS's own counter (a publication counts them itself) */
  droppedFrames?(): number;
  /** the round trip of the session carrying the stream, ms, when it is known better than the QoS's own field */
  latency?(): number;
}

const PROPERTIES = new Set(['byteRate', 'lostRate', 'congestionRate', 'latency', 'droppedFrames', 'lastSendingTime']);

/** Pushes a new QualityOfService object for `qos`. */
export function pushQOS(L: LuaState, qos: QualityOfService, sources: QOSSources = {}): void {
  pushObject(L, {
    get(L1, key) {
      switch (key) {
        case 'byteRate':
          pushNumber(L1, qos.byteRate);
          return true;
        case 'lostRate':
          lua.lua_pushnumber(L1, qos.lostRate);
          return true;
        case 'congestionRate':
          lua.lua_pushnumber(L1, qos.congestionRate);
          return true;
        case 'latency':
          pushNumber(L1, sources.latency ? sources.latency() : qos.latency);
          return true;
        case 'droppedFrames':
          pushNumber(L1, sources.droppedFrames ? sources.droppedFrames() : qos.droppedFrames);
          return true;
        case 'lastSendingTime':
          pushNumber(L1, qos.lastSendingTime);
          return true;
      }
      return false;
    },
    set(L1, key) {
      return PROPERTIES.has(key) ? readOnly(L1, key) : false;
    },
  });
}
