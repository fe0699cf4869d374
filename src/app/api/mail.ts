// cumulus:sendMail(sender, subject, content, ...recipients): sends through the SMTP server of the
// [smtp] section (host, port, timeout in seconds) with nodemailer, without blocking; the returned
// mail object's onSent(error) fires once (error nil on success, the reason otherwise: a refused
// recipient, a timeout, a connection failure).
import { createRequire } from 'node:module';
import { lua, lauxlib, pushText, toText, type LuaState } from '../lua/state.ts';
import type { Method } from '../lua/object.ts';
import type { HostContext } from './context.ts';
import { fire } from './sockets/tcp-client.ts';

export interface SMTPSettings {
  host: string;
  port: number;
  /** seconds */
  timeout: number;
}

export function smtpSettings(configs: Record<string, Record<string, string>>): SMTPSettings {
  const smtp = configs['smtp'] ?? {};
  const port = Number(smtp['port']);
  const timeout = Number(smtp['timeout']);
  return {
    host: smtp['host'] || 'localhost',
    port: Number.isInteger(port) && port > 0 ? port : 25,
    timeout: timeout > 0 ? timeout : 60,
  };
}

/** Sends one mail; resolves with null or the error text. */
export async function sendMail(settings: SMTPSettings, from: string, subject: string, text: string, to: string[]): Promise<string | null> {
  const ms = settings.timeout * 1000;
  // loaded on first mail: nodemailer costs ~10 MB and 0.3 s at start-up for a feature few applications use
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: false,
    ignoreTLS: true,
    connectionTimeout: ms,
    greetingTimeout: ms,
    socketTimeout: ms,
  });
  try {
    const info = await transport.sendMail({ from, to, subject, text });
    const rejected = ((info.rejected ?? []) as Array<string | { address: string }>).map((r) => (typeof r === 'string' ? r : r.address));
    return rejected.length ? `recipient refused: ${rejected.join(', ')}` : null;
  } catch (e) {
    return (e as Error).message || String(e);
  } finally {
    transport.close();
  }
}

export function mailMethods(ctx: HostContext): Record<string, Method> {
  const { rt, server } = ctx;
  const sendMailMethod: Method = (L: LuaState, a) => {
    const top = lua.lua_gettop(L);
    const from = toText(L, a);
    const subject = toText(L, a + 1);
    const content = toText(L, a + 2);
    const to: string[] = [];
    for (let i = a + 3; i <= top; i++) if (lua.lua_type(L, i) === lua.LUA_TSTRING) to.push(toText(L, i));
    const app = rt.current;
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushvalue(L, -1);
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    const done = (error: string | null): void => {
      fire(rt, app, ref, ['onSent'], (L1) => {
        if (error === null) lua.lua_pushnil(L1);
        else pushText(L1, error);
        return 1;
      });
      rt.lua.unref(ref);
    };
    if (to.length === 0) queueMicrotask(() => done('no recipient'));
    else void sendMail(smtpSettings(server.configs), from, subject, content, to).then(done);
    return 1;
  };
  return { sendMail: sendMailMethod };
}
