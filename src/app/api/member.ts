// A virtual member (groups:join / mona:joinGroup): a peer id placed on a group's ring by a script, until the
// script calls release() or drops the object. Lua's __gc does not run here (fengari), so the JavaScript
// collector stands in for it: once nothing reaches the member's table, the member leaves its group, as the
// seeds say ("on its destruction by the LUA garbage collector"). Collection time is the collector's choice.
import { lua, pushBytes, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly } from '../lua/object.ts';
import type { MemberPort } from '../../core/ports.ts';

interface MemberHold {
  readonly member: MemberPort;
  released: boolean;
}

function release(hold: MemberHold): void {
  if (hold.released) return;
  hold.released = true;
  hold.member.release();
}

/** Members whose script object was collected without release(). The held value never refers to the table. */
const collected = new FinalizationRegistry<MemberHold>(release);

export function pushMember(L: LuaState, member: MemberPort): void {
  const hold: MemberHold = { member, released: false };
  pushObject(L, {
    get(L1, key) {
      if (key === 'id') lua.lua_pushliteral(L1, member.id);
      else if (key === 'rawId') pushBytes(L1, member.rawId);
      else return false;
      return true;
    },
    set(L1, key) {
      return key === 'id' || key === 'rawId' ? readOnly(L1, key) : false;
    },
    methods: {
      release: () => {
        release(hold);
        collected.unregister(hold);
        return 0;
      },
    },
  });
  // fengari's table object for the member's table: what the collector watches
  const table = lua.lua_topointer(L, -1);
  if (table) collected.register(table, hold, hold);
}
