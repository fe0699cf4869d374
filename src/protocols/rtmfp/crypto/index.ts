// The crypto layer: AES-CBC, packet framing (PacketCipher), DH groups, certificates and keying.
export { DEFAULT_KEY, createBlockCipher, loadBlockCipher, type BlockCipher, type CipherImpl } from './aes.ts';
export {
  FLASH_PROTECTION,
  ReplayWindow,
  checksum,
  createPacketCipher,
  readSessionId,
  startupCipher,
  type PacketCipher,
  type Protection,
} from './packet-cipher.ts';
export { SUPPORTED_GROUPS, generateKeyPair, isDHGroup, isValidPublicKey, stripLeadingZeros, type DHGroup, type DHKeyPair } from './dh.ts';
export {
  CERT_OPTION,
  createServerCertificate,
  createStaticCertificate,
  parseCertificate,
  peerIdOf,
  type Certificate,
} from './certificate.ts';
export {
  DEFAULT_HMAC_LENGTH,
  KEYING_OPTION,
  NEGOTIATE,
  createInitiatorIdentity,
  deriveSessionKeys,
  initiateKeying,
  negotiate,
  negotiationFlags,
  respondToKeying,
  type InitiatorIdentity,
  type InitiatorKeying,
  type NegotiatedProtection,
  type NegotiationState,
  type ResponderKeying,
  type SessionKeys,
} from './keying.ts';
