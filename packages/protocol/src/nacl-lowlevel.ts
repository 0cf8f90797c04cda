/**
 * tweetnacl's lowlevel secretbox, which its typings omit. Using it directly lets the envelope code
 * encrypt from a buffer that already carries the 32 zero bytes NaCl wants in front of the plaintext,
 * and decrypt straight out of the received envelope — the high-level API copies both ways in JS loops.
 */
import nacl from "tweetnacl";

interface Lowlevel {
  crypto_secretbox(c: Uint8Array, m: Uint8Array, d: number, n: Uint8Array, k: Uint8Array): number;
  crypto_secretbox_open(m: Uint8Array, c: Uint8Array, d: number, n: Uint8Array, k: Uint8Array): number;
}

const lowlevel = (nacl as unknown as { lowlevel: Lowlevel }).lowlevel;

/** m[0..32) must be zero; writes c (same length): c[0..16) zero, c[16..32) tag, c[32..) ciphertext. */
export const cryptoSecretbox = lowlevel.crypto_secretbox;
/** c[0..16) is ignored; on success m[32..) is the plaintext. Returns 0 on success, -1 on forgery. */
export const cryptoSecretboxOpen = lowlevel.crypto_secretbox_open;

/** Zero bytes NaCl requires in front of a plaintext. */
export const ZERO_BYTES = 32;
