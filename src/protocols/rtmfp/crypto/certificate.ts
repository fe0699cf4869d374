// RFC 7425 certificates (RTMFP.md §3.4, §3.5, §3.9; RTMFP-7425-extensions.md A1.1–A1.3). A certificate is an
// option list; only what precedes the first marker counts, and that part is what the fingerprint covers.
import { createHash, randomBytes } from 'node:crypto';
import { ByteReader, ByteWriter, concat, encodeVLU } from '../../../bytes.ts';
import { WireError } from '../../../errors.ts';
import { readOptionList, writeOption } from '../wire/options.ts';
import { isDHGroup, type DHGroup } from './dh.ts';

/** Option types of certificates and of keying components (A1.1). */
export const CERT_OPTION = {
  ACCEPTS_ANCILLARY_DATA: 0x0a,
  EXTRA_RANDOMNESS: 0x0e,
  EPHEMERAL_GROUP: 0x15,
  STATIC_KEY: 0x1d,
} as const;

export interface Certificate {
  raw: Uint8Array;
  /** up to and including the first marker, else all */
  canonical: Uint8Array;
  /** SHA-256(canonical) */
  fingerprint: Uint8Array;
  acceptsAncillaryData: boolean;
  /** static DH public keys by group; groups we do not implement are left out */
  staticKeys: Map<DHGroup, Uint8Array>;
  /** supported ephemeral groups in the certificate's order; groups we do not implement are left out */
  ephemeralGroups: DHGroup[];
}

/** Throws WireError when the option list is malformed or lists both static keys and ephemeral groups. */
export function parseCertificate(raw: Uint8Array): Certificate {
  const r = new ByteReader(raw);
  const options = readOptionList(r);
  const canonical = raw.subarray(0, r.position);
  let acceptsAncillaryData = false;
  let sawStatic = false;
  let sawEphemeral = false;
  const staticKeys = new Map<DHGroup, Uint8Array>();
  const ephemeralGroups: DHGroup[] = [];
  for (const o of options) {
    switch (o.type) {
      case CERT_OPTION.ACCEPTS_ANCILLARY_DATA:
        acceptsAncillaryData = true;
        break;
      case CERT_OPTION.STATIC_KEY: {
        sawStatic = true;
        const v = new ByteReader(o.value);
        const group = v.vlu();
        const key = v.rest();
        if (key.length === 0) throw new WireError('static DH key option without a key');
        if (isDHGroup(group) && !staticKeys.has(group)) staticKeys.set(group, key);
        break;
      }
      case CERT_OPTION.EPHEMERAL_GROUP: {
        sawEphemeral = true;
        const group = new ByteReader(o.value).vlu();
        if (isDHGroup(group) && !ephemeralGroups.includes(group)) ephemeralGroups.push(group);
        break;
      }
    }
  }
  if (sawStatic && sawEphemeral) throw new WireError('certificate has both static keys and ephemeral groups');
  return {
    raw,
    canonical,
    fingerprint: sha256(canonical),
    acceptsAncillaryData,
    staticKeys,
    ephemeralGroups,
  };
}

/** `01 0a | 02 15 g … | 41 0e <64 random>`: 77 bytes with the default groups, the layout Flash (via Cumulus) and
 *  rtmfp-cpp both accept (A1.3). Create it once per server: its SHA-256 is the server's fingerprint. */
export function createServerCertificate(groups: readonly DHGroup[] = [2, 14, 16]): Uint8Array {
  const w = new ByteWriter(128);
  writeOption(w, CERT_OPTION.ACCEPTS_ANCILLARY_DATA, new Uint8Array(0));
  for (const g of groups) writeOption(w, CERT_OPTION.EPHEMERAL_GROUP, encodeVLU(g));
  writeOption(w, CERT_OPTION.EXTRA_RANDOMNESS, randomBytes(64));
  return w.bytes();
}

/** A static certificate: one `opt(0x1d, VLU group | key)` per key, in the given order (A1.2). */
export function createStaticCertificate(keys: readonly { group: DHGroup; publicKey: Uint8Array }[]): Uint8Array {
  const w = new ByteWriter(1024);
  for (const k of keys) writeOption(w, CERT_OPTION.STATIC_KEY, concat(encodeVLU(k.group), k.publicKey));
  return w.bytes();
}

/** Peer ID = SHA-256 of the whole initiator certificate as carried in IIKeying (RTMFP.md §3.9). */
export function peerIdOf(clientCertificate: Uint8Array): Uint8Array {
  return sha256(clientCertificate);
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
