// Session keying, both roles (RTMFP.md §3.5–3.8; RTMFP-7425-extensions.md A1.2–A1.6, A2, A3): group choice,
// HMAC / session-sequence-number negotiation, the responder's skrc, and the derivation of keys and nonces.
import { createHmac, randomBytes } from 'node:crypto';
import { ByteReader, ByteWriter, concat, decodeVLU, encodeVLU } from '../../../bytes.ts';
import { findOption, readOptionList, writeOption, type RTMFPOption } from '../wire/options.ts';
import { createStaticCertificate, parseCertificate, type Certificate } from './certificate.ts';
import { generateKeyPair, isDHGroup, SUPPORTED_GROUPS, takeKeyPair, type DHGroup, type DHKeyPair } from './dh.ts';
import type { Protection } from './packet-cipher.ts';

/** Keying-component option types (A1.1). */
export const KEYING_OPTION = {
  EPHEMERAL_KEY: 0x0d,
  EXTRA_RANDOMNESS: 0x0e,
  HMAC_NEGOTIATION: 0x1a,
  GROUP_SELECT: 0x1d,
  SSEQ_NEGOTIATION: 0x1e,
} as const;

/** Negotiation flags of options 0x1a and 0x1e (A2.1). */
export const NEGOTIATE = { SEND_ALWAYS: 0x04, SEND_ON_REQUEST: 0x02, REQUEST: 0x01 } as const;

export const DEFAULT_HMAC_LENGTH = 16;

export interface NegotiationState {
  sendAlways: boolean;
  recvRequired: boolean;
}

/** A2.2: fold one far option's flags into our state; null = negotiation fails (no answer / ignore the answer). */
export function negotiate(state: NegotiationState, farFlags: number): NegotiationState | null {
  const farSends = (farFlags & (NEGOTIATE.SEND_ALWAYS | NEGOTIATE.SEND_ON_REQUEST)) !== 0;
  if (state.recvRequired && !farSends) return null;
  return agree(state, farFlags);
}

/** The agreed state once nothing we require is refused: a side that requires nothing always gets one. */
function agree(state: NegotiationState, farFlags: number): NegotiationState {
  return {
    // it asks, so we send; it will send, so we must expect it
    sendAlways: state.sendAlways || (farFlags & NEGOTIATE.REQUEST) !== 0,
    recvRequired: state.recvRequired || (farFlags & NEGOTIATE.SEND_ALWAYS) !== 0,
  };
}

/** The flags we announce for a state (A2.2): we always offer to send on request. */
export function negotiationFlags(state: NegotiationState): number {
  return (state.sendAlways ? NEGOTIATE.SEND_ALWAYS : 0) | NEGOTIATE.SEND_ON_REQUEST | (state.recvRequired ? NEGOTIATE.REQUEST : 0);
}

export interface SessionKeys {
  encryptKey: Uint8Array;
  decryptKey: Uint8Array;
  protection: Protection;
  nearNonce: Uint8Array;
  farNonce: Uint8Array;
  sharedSecret: Uint8Array;
}

export interface NegotiatedProtection {
  sendHMACLength: number;
  recvHMACLength: number;
  sendSequence: boolean;
  recvSequence: boolean;
}

/** §3.8 / A1.6 / A2.3, for either role: E32 = HMAC(S, HMAC(far, near)) and D32 = HMAC(S, HMAC(near, far));
 *  AES keys are their first 16 bytes, HMAC keys are HMAC(S, E32) / HMAC(S, D32), nonces HMAC(S, component). */
export function deriveSessionKeys(
  sharedSecret: Uint8Array,
  nearComponent: Uint8Array,
  farComponent: Uint8Array,
  negotiated: NegotiatedProtection,
): SessionKeys {
  const e32 = hmac(sharedSecret, hmac(farComponent, nearComponent));
  const d32 = hmac(sharedSecret, hmac(nearComponent, farComponent));
  const protection: Protection = { ...negotiated };
  if (negotiated.sendHMACLength > 0) protection.sendHMACKey = hmac(sharedSecret, e32);
  if (negotiated.recvHMACLength > 0) protection.recvHMACKey = hmac(sharedSecret, d32);
  return {
    encryptKey: e32.slice(0, 16),
    decryptKey: d32.slice(0, 16),
    protection,
    nearNonce: hmac(sharedSecret, nearComponent),
    farNonce: hmac(sharedSecret, farComponent),
    sharedSecret,
  };
}

// ---- responder (server) ----

export interface ResponderKeying {
  skrc: Uint8Array;
  keys: SessionKeys;
  group: DHGroup;
}

/** Server side of IIKeying: null when the group is not offered, the key is invalid, or negotiation fails
 *  (then send no answer, A2.2). The skrc follows rtmfp-cpp's order (0x1e, 0x1a, 0x0d), except for a client that
 *  neither sends nor requests anything (Flash), which gets Cumulus's exact `03 1a 00 00 | 02 1e 00 | 0x0d` (A7.2). */
export function respondToKeying(
  clientCertificate: Uint8Array,
  skic: Uint8Array,
  offeredGroups: readonly DHGroup[],
  options: { privateKey?: Uint8Array; hmacLength?: number } = {},
): ResponderKeying | null {
  const ourHMACLength = options.hmacLength ?? DEFAULT_HMAC_LENGTH;
  let certificate: Certificate;
  let component: RTMFPOption[];
  try {
    certificate = parseCertificate(clientCertificate);
    component = readOptionList(new ByteReader(skic));
  } catch {
    return null;
  }
  const selected = initiatorKey(certificate, component);
  if (selected === null || !offeredGroups.includes(selected.group)) return null;

  const far = readNegotiation(component);
  const idle: NegotiationState = { sendAlways: false, recvRequired: false };
  // the responder requires nothing of its own: whatever the initiator offers, there is an agreement
  const hmacState = agree(idle, far.hmacFlags);
  const sseqState = agree(idle, far.sseqFlags);
  if (hmacState.recvRequired && !validHMACLength(far.hmacLength)) return null;

  const keyPair = options.privateKey === undefined ? takeKeyPair(selected.group) : generateKeyPair(selected.group, options.privateKey);
  const sharedSecret = keyPair.computeSecret(selected.publicKey);
  if (sharedSecret === null) return null;

  const w = new ByteWriter(64 + keyPair.publicKey.length);
  const flashProfile = !asksOrSends(far.hmacFlags) && !asksOrSends(far.sseqFlags);
  if (flashProfile) {
    writeOption(w, KEYING_OPTION.HMAC_NEGOTIATION, Uint8Array.of(0, 0));
    writeOption(w, KEYING_OPTION.SSEQ_NEGOTIATION, Uint8Array.of(0));
  } else {
    writeOption(w, KEYING_OPTION.SSEQ_NEGOTIATION, Uint8Array.of(negotiationFlags(sseqState)));
    writeOption(w, KEYING_OPTION.HMAC_NEGOTIATION, concat(Uint8Array.of(negotiationFlags(hmacState)), encodeVLU(ourHMACLength)));
  }
  writeOption(w, KEYING_OPTION.EPHEMERAL_KEY, concat(encodeVLU(selected.group), keyPair.publicKey));
  const skrc = w.bytes();

  const keys = deriveSessionKeys(sharedSecret, skrc, skic, {
    sendHMACLength: hmacState.sendAlways ? ourHMACLength : 0,
    recvHMACLength: hmacState.recvRequired ? far.hmacLength : 0,
    sendSequence: sseqState.sendAlways,
    recvSequence: sseqState.recvRequired,
  });
  return { skrc, keys, group: selected.group };
}

/** The group the initiator selected and its public key: skic 0x1d → the certificate's static key for that
 *  group, or skic 0x0d → group and key carried in the skic (ephemeral initiator). */
function initiatorKey(certificate: Certificate, skic: readonly RTMFPOption[]): { group: DHGroup; publicKey: Uint8Array } | null {
  const select = findOption(skic, KEYING_OPTION.GROUP_SELECT);
  if (select !== undefined) {
    // an empty or truncated group option is bad input, never an exception
    const group = decodeVLU(select.value);
    if (!isDHGroup(group)) return null;
    const publicKey = certificate.staticKeys.get(group);
    return publicKey === undefined ? null : { group, publicKey };
  }
  const ephemeral = findOption(skic, KEYING_OPTION.EPHEMERAL_KEY);
  if (ephemeral === undefined) return null;
  return groupAndKey(ephemeral.value);
}

// ---- initiator (client) ----

export interface InitiatorIdentity {
  certificate: Uint8Array;
  keys: Map<DHGroup, DHKeyPair>;
  groups: DHGroup[];
}

/** 'flash': one static group-2 key (`81 02 1d 02 <key>`); 'rfc7425': static keys for 16, 14, 2 as rtmfp-cpp. */
export function createInitiatorIdentity(style: 'flash' | 'rfc7425'): InitiatorIdentity {
  const groups: DHGroup[] = style === 'flash' ? [2] : [...SUPPORTED_GROUPS];
  const keys = new Map<DHGroup, DHKeyPair>();
  for (const g of groups) keys.set(g, generateKeyPair(g));
  const certificate = createStaticCertificate(groups.map((g) => keys.get(g)!));
  return { certificate, keys, groups };
}

export interface InitiatorKeying {
  skic: Uint8Array;
  group: DHGroup;
  /** client side of RIKeying: null when the skrc has no key for our group, the key is invalid, or negotiation fails */
  complete(skrc: Uint8Array): SessionKeys | null;
}

const INITIATOR_PROFILE = {
  flash: { hmacFlags: NEGOTIATE.SEND_ON_REQUEST, hmacLength: 10, sseqFlags: NEGOTIATE.SEND_ON_REQUEST },
  rfc7425: { hmacFlags: 0x07, hmacLength: DEFAULT_HMAC_LENGTH, sseqFlags: 0x07 },
} as const;

/** Picks the first group of our own preference list that the server lists (A1.4) and builds the skic:
 *  'flash' `02 1d g | 41 0e <64> | 03 1a 02 0a | 02 1e 02`, 'rfc7425' `02 1d g | 41 0e <64> | 03 1a 07 10 | 02 1e 07`. */
export function initiateKeying(
  identity: InitiatorIdentity,
  serverCertificate: Uint8Array,
  style: 'flash' | 'rfc7425',
): InitiatorKeying | null {
  let server: Certificate;
  try {
    server = parseCertificate(serverCertificate);
  } catch {
    return null;
  }
  const group = identity.groups.find((g) => server.ephemeralGroups.includes(g) || server.staticKeys.has(g));
  const keyPair = group === undefined ? undefined : identity.keys.get(group);
  if (group === undefined || keyPair === undefined) return null;

  const profile = INITIATOR_PROFILE[style];
  const w = new ByteWriter(96);
  writeOption(w, KEYING_OPTION.GROUP_SELECT, encodeVLU(group));
  writeOption(w, KEYING_OPTION.EXTRA_RANDOMNESS, randomBytes(64));
  writeOption(w, KEYING_OPTION.HMAC_NEGOTIATION, concat(Uint8Array.of(profile.hmacFlags), encodeVLU(profile.hmacLength)));
  writeOption(w, KEYING_OPTION.SSEQ_NEGOTIATION, Uint8Array.of(profile.sseqFlags));
  const skic = w.bytes();
  const ownState = (flags: number): NegotiationState => ({
    sendAlways: (flags & NEGOTIATE.SEND_ALWAYS) !== 0,
    recvRequired: (flags & NEGOTIATE.REQUEST) !== 0,
  });

  return {
    skic,
    group,
    complete(skrc: Uint8Array): SessionKeys | null {
      let component: RTMFPOption[];
      let serverKey: Uint8Array | undefined;
      try {
        component = readOptionList(new ByteReader(skrc));
        for (const o of component) {
          if (o.type !== KEYING_OPTION.EPHEMERAL_KEY) continue;
          const gk = groupAndKey(o.value);
          if (gk !== null && gk.group === group) {
            serverKey = gk.publicKey;
            break;
          }
        }
      } catch {
        return null;
      }
      serverKey ??= server.staticKeys.get(group);
      if (serverKey === undefined) return null;
      const far = readNegotiation(component);
      const hmacState = negotiate(ownState(profile.hmacFlags), far.hmacFlags);
      const sseqState = negotiate(ownState(profile.sseqFlags), far.sseqFlags);
      if (hmacState === null || sseqState === null) return null;
      if (hmacState.recvRequired && !validHMACLength(far.hmacLength)) return null;
      const sharedSecret = keyPair.computeSecret(serverKey);
      if (sharedSecret === null) return null;
      return deriveSessionKeys(sharedSecret, skic, skrc, {
        sendHMACLength: hmacState.sendAlways ? profile.hmacLength : 0,
        recvHMACLength: hmacState.recvRequired ? far.hmacLength : 0,
        sendSequence: sseqState.sendAlways,
        recvSequence: sseqState.recvRequired,
      });
    },
  };
}

// ---- shared ----

interface FarNegotiation {
  hmacFlags: number;
  hmacLength: number;
  sseqFlags: number;
}

/** A missing option counts as flags 0, length 0 (A2.1). */
function readNegotiation(component: readonly RTMFPOption[]): FarNegotiation {
  let hmacFlags = 0,
    hmacLength = 0,
    sseqFlags = 0;
  const h = findOption(component, KEYING_OPTION.HMAC_NEGOTIATION);
  if (h !== undefined && h.value.length > 0) {
    hmacFlags = h.value[0]!;
    try {
      hmacLength = h.value.length > 1 ? new ByteReader(h.value, 1).vlu() : 0;
    } catch {
      hmacLength = 0;
    }
  }
  const s = findOption(component, KEYING_OPTION.SSEQ_NEGOTIATION);
  if (s !== undefined && s.value.length > 0) sseqFlags = s.value[0]!;
  return { hmacFlags, hmacLength, sseqFlags };
}

function asksOrSends(flags: number): boolean {
  return (flags & (NEGOTIATE.SEND_ALWAYS | NEGOTIATE.REQUEST)) !== 0;
}

function validHMACLength(n: number): boolean {
  return n >= 4 && n <= 32;
}

function groupAndKey(value: Uint8Array): { group: DHGroup; publicKey: Uint8Array } | null {
  try {
    const r = new ByteReader(value);
    const group = r.vlu();
    const publicKey = r.rest();
    return isDHGroup(group) && publicKey.length > 0 ? { group, publicKey } : null;
  } catch {
    return null;
  }
}

function hmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(message).digest());
}
