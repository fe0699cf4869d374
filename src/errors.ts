// Errors with stable codes (after undici's errors module): one NimbusError base, a subclass per
// kind of failure, and a `code` ('NIMBUS_ERR_…') that logs and tests key on instead of messages.
// Messages stay free to improve; codes are an interface (docs/errors.md). Imports nothing.

/** Every code a NimbusError can carry, with the class that carries it and when it is raised. */
export const ERROR_CODES = Object.freeze({
  NIMBUS_ERR: Object.freeze({ class: 'NimbusError', when: 'unclassified Nimbus error (base class)' }),
  NIMBUS_ERR_WIRE: Object.freeze({
    class: 'WireError',
    when: 'malformed protocol input: a field with an impossible value, a message of the wrong type',
  }),
  NIMBUS_ERR_WIRE_TRUNCATED: Object.freeze({
    class: 'WireError',
    when: 'input shorter than it declares: a read past the end, a length that overruns its container',
  }),
  NIMBUS_ERR_AMF: Object.freeze({ class: 'AmfError', when: 'an AMF0/AMF3 value that cannot be decoded or encoded (also a WireError)' }),
  NIMBUS_ERR_CONFIG: Object.freeze({ class: 'ConfigError', when: 'a bad configuration file, option or value; `key` names it' }),
  NIMBUS_ERR_SCRIPT: Object.freeze({
    class: 'ScriptError',
    when: 'a Lua error in an application script; carries app, event and the Lua traceback',
  }),
  NIMBUS_ERR_CONVERSION: Object.freeze({ class: 'ConversionError', when: 'a script value or document that XML / XML-RPC cannot convert' }),
  NIMBUS_ERR_PATH: Object.freeze({ class: 'PathError', when: 'a script path that leads outside the applications folder' }),
  NIMBUS_ERR_CALL: Object.freeze({
    class: 'CallError',
    when: 'client: a NetConnection call or connect answered with _error; `status` is the Flash code',
  }),
  NIMBUS_ERR_STATUS: Object.freeze({
    class: 'StatusError',
    when: 'client: a NetStream answered with a level "error" status; `status` is the Flash code',
  }),
  NIMBUS_ERR_CONNECT: Object.freeze({
    class: 'ConnectError',
    when: 'client: an RTMFP handshake with a server or a peer failed (no usable DH group, keying rejected)',
  }),
  NIMBUS_ERR_TIMEOUT: Object.freeze({ class: 'TimeoutError', when: 'client: a handshake, call or awaited status did not come in time' }),
  NIMBUS_ERR_CLOSED: Object.freeze({
    class: 'ClosedError',
    when: 'client: the NetConnection or peer hub closed with the operation pending',
  }),
});

export type ErrorCode = keyof typeof ERROR_CODES;

export interface NimbusErrorOptions {
  cause?: unknown;
}

export class NimbusError extends Error {
  override name = 'NimbusError';
  readonly code: string;

  constructor(message: string, code: ErrorCode = 'NIMBUS_ERR', options?: NimbusErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** The code of a NimbusError, undefined for anything else: `logger.warn({ err, code: errorCode(err) }, …)`. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof NimbusError ? error.code : undefined;
}

export type WireErrorCode = 'NIMBUS_ERR_WIRE' | 'NIMBUS_ERR_WIRE_TRUNCATED';

/** Malformed protocol input: the packet or message is dropped (and counted), never answered. */
export class WireError extends NimbusError {
  override name = 'WireError';
  constructor(message: string, options?: NimbusErrorOptions & { code?: WireErrorCode | 'NIMBUS_ERR_AMF' }) {
    super(message, options?.code ?? 'NIMBUS_ERR_WIRE', options);
  }
}

/** An AMF value that cannot be read or written. A WireError, so codec callers drop it the same way. */
export class AmfError extends WireError {
  override name = 'AmfError';
  constructor(message: string, options?: NimbusErrorOptions) {
    super(message, { ...options, code: 'NIMBUS_ERR_AMF' });
  }
}

/** A configuration problem found at start-up; `key` is what to fix ('RTMFP.port', '--config', …). */
export class ConfigError extends NimbusError {
  override name = 'ConfigError';
  readonly key: string | undefined;
  constructor(message: string, options?: NimbusErrorOptions & { key?: string }) {
    super(message, 'NIMBUS_ERR_CONFIG', options);
    this.key = options?.key;
  }
}

/** A Lua error raised by an application script (message as Lua gave it). */
export class ScriptError extends NimbusError {
  override name = 'ScriptError';
  /** '/' for the root application, '/a/b' otherwise */
  readonly app: string;
  /** what was running: 'onConnection', 'client:myMethod', '__readExternal', … */
  readonly event: string;
  /** the Lua traceback */
  readonly traceback: string;
  constructor(message: string, details: { app: string; event: string; traceback: string }, options?: NimbusErrorOptions) {
    super(message, 'NIMBUS_ERR_SCRIPT', options);
    this.app = details.app;
    this.event = details.event;
    this.traceback = details.traceback;
  }
}

/** A script value or document that cannot be converted (XML, XML-RPC). */
export class ConversionError extends NimbusError {
  override name = 'ConversionError';
  constructor(message: string, options?: NimbusErrorOptions) {
    super(message, 'NIMBUS_ERR_CONVERSION', options);
  }
}

/** A path given by a script that leads outside the applications folder. */
export class PathError extends NimbusError {
  override name = 'PathError';
  constructor(message: string, options?: NimbusErrorOptions) {
    super(message, 'NIMBUS_ERR_PATH', options);
  }
}

/** Client: a call (or connect) answered with _error. `status` is its Flash code, `info` the whole answer. */
export class CallError extends NimbusError {
  override name = 'CallError';
  /** e.g. 'NetConnection.Call.Failed', 'NetConnection.Connect.Rejected'; '' when the answer had none */
  readonly status: string;
  readonly info: unknown;
  constructor(message: string, status: string, info?: unknown, options?: NimbusErrorOptions) {
    super(message, 'NIMBUS_ERR_CALL', options);
    this.status = status;
    this.info = info;
  }
}

/** Client: a NetStream status of level "error". `status` is its Flash code, `info` the whole status. */
export class StatusError extends NimbusError {
  override name = 'StatusError';
  /** e.g. 'NetStream.Publish.BadName' */
  readonly status: string;
  readonly info: unknown;
  constructor(message: string, status: string, info?: unknown, options?: NimbusErrorOptions) {
    super(message, 'NIMBUS_ERR_STATUS', options);
    this.status = status;
    this.info = info;
  }
}

/** Client: an RTMFP handshake (with a server or a peer) that failed. */
export class ConnectError extends NimbusError {
  override name = 'ConnectError';
  constructor(message: string, options?: NimbusErrorOptions) {
    super(message, 'NIMBUS_ERR_CONNECT', options);
  }
}

/** Client: something awaited that did not come in time. */
export class TimeoutError extends NimbusError {
  override name = 'TimeoutError';
  constructor(message: string, options?: NimbusErrorOptions) {
    super(message, 'NIMBUS_ERR_TIMEOUT', options);
  }
}

/** Client: the connection (or peer hub) closed while the operation was pending. */
export class ClosedError extends NimbusError {
  override name = 'ClosedError';
  constructor(message: string, options?: NimbusErrorOptions) {
    super(message, 'NIMBUS_ERR_CLOSED', options);
  }
}
