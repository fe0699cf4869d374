// A virtual member (groups:join / mona:joinGroup): a peer id placed on a group's ring by a script. Lua
// here has no __gc on tables, so the member stays introduced until the script calls release() (or the
// server stops): keeping the object is the script's way of keeping the member.
import { lua, pushBytes, type LuaState } from '../lua/state.ts';
import { pushObject, readOnly } from '../lua/object.ts';
import type { MemberPort } from '../../core/ports.ts';

export function pushMember(L: LuaState, member: MemberPort): void {
  let released = false;
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
        if (!released) {
          released = true;
          member.release();
        }
        return 0;
      },
    },
  });
}
