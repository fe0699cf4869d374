// The groups collection (cumulus.groups / mona.groups): count, `#`, pairs by group id, lookup by id
// (64 hex characters) or rawId (32 bytes), and join(peerId, groupId) → a virtual member, which is also
// mona:joinGroup(peerId, groupId).
import { lua, toBytes, toText, type LuaState } from '../lua/state.ts';
import type { Method } from '../lua/object.ts';
import type { GroupPort } from '../../core/ports.ts';
import type { LuaGroups } from './group.ts';
import { pushCollection } from './collection.ts';
import { pushMember } from './member.ts';

/** An id argument: 32 bytes are a raw id, anything else is read as hex text. */
function idArgument(L: LuaState, idx: number): string | Uint8Array | undefined {
  if (lua.lua_type(L, idx) !== lua.LUA_TSTRING) return undefined;
  const bytes = toBytes(L, idx);
  return bytes.length === 32 ? bytes : toText(L, idx);
}

/** groups:join(peerId, groupId) / mona:joinGroup(peerId, groupId): a member object, or nil. */
export function joinGroupMethod(groups: LuaGroups): Method {
  return (L1, a) => {
    const peerId = idArgument(L1, a);
    const groupId = idArgument(L1, a + 1);
    const member = peerId !== undefined && groupId !== undefined ? groups.port?.join(peerId, groupId) : null;
    if (!member) return 0;
    pushMember(L1, member);
    return 1;
  };
}

/** Pushes the groups object. */
export function pushGroups(L: LuaState, groups: LuaGroups): void {
  pushCollection<GroupPort>(L, {
    items: () => [...(groups.port ?? [])],
    key: (g) => g.id,
    push: (L1, g) => groups.push(L1, g),
    find(L1, idx) {
      const id = idArgument(L1, idx);
      return id === undefined ? undefined : groups.port?.group(id);
    },
    methods: { join: joinGroupMethod(groups) },
  });
}
