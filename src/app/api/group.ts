// The group object (a NetGroup): id, rawId, size, `#` and ipairs over its clients. One script object per
// group while the group exists, so that `groups[id] == group` holds across events and lookups.
import { lua, pushBytes, type LuaState } from '../lua/state.ts';
import type { ClientPort, GroupPort, GroupsPort } from '../../core/ports.ts';
import type { HostContext } from './context.ts';
import type { ClientState } from './client.ts';
import { pushRef } from './client.ts';
import { pushCollection } from './collection.ts';

export class LuaGroups {
  private readonly refs = new Map<GroupPort, number>();

  constructor(
    private readonly ctx: HostContext,
    /** the script object of a client, when scripts know it */
    private readonly clientOf: (port: ClientPort) => ClientState | undefined,
  ) {}

  get port(): GroupsPort | undefined {
    return this.ctx.server.groups;
  }

  push(L: LuaState, group: GroupPort): void {
    let ref = this.refs.get(group);
    if (ref === undefined) {
      this.prune();
      this.create(group);
      ref = this.ctx.rt.lua.ref();
      this.refs.set(group, ref);
    }
    pushRef(L, ref);
  }

  /** Forgets the objects of groups that no longer exist (a later group of the same id is a new object). */
  prune(): void {
    const groups = this.port;
    for (const [group, ref] of this.refs) {
      if (groups?.group(group.id) === group) continue;
      this.refs.delete(group);
      this.ctx.rt.lua.unref(ref);
    }
  }

  /** Pushes the new object on the main thread. */
  private create(group: GroupPort): void {
    const clients = (): ClientState[] => {
      const out: ClientState[] = [];
      for (const port of group.clients()) {
        const state = this.clientOf(port);
        if (state) out.push(state);
      }
      return out;
    };
    pushCollection<ClientState>(this.ctx.rt.lua.L, {
      items: clients,
      key: (c) => c.id,
      push: (L1, c) => pushRef(L1, c.ref),
      get(L1, key) {
        switch (key) {
          case 'id':
            lua.lua_pushliteral(L1, group.id);
            return true;
          case 'rawId':
            pushBytes(L1, group.rawId);
            return true;
          case 'size':
            lua.lua_pushinteger(L1, group.size);
            return true;
        }
        return false;
      },
    });
  }
}
