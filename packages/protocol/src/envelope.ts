/**
 * The sealed envelope: one socket.io payload after the handshake.
 *
 *   0  'M' 'A'        magic
 *   2  version u8     PROTOCOL_VERSION
 *   3  direction u8   1 = node→coordinator, 2 = coordinator→node
 *   4  reserved u32   zero
 *   8  counter u64    big-endian, strictly increasing per direction
 *  16  tag (16)       Poly1305
 *  32  ciphertext     XSalsa20 of the frame
 *
 * The nonce is (direction ‖ counter ‖ 0…), so every message gets a fresh nonce under the per-connection
 * key without sending it. The header is not MAC'd, but every header byte is checked for an exact
 * expected value and direction/counter feed the nonce, so changing any byte is detected. A counter at or
 * below the last accepted one is a replay (or reordering); a different session's key fails the MAC.
 */
import { DecodeError, DecryptError, ReplayError, VersionError } from "./errors.js";
import { PROTOCOL_VERSION, type Role } from "./messages.js";
import { cryptoSecretbox, cryptoSecretboxOpen, ZERO_BYTES } from "./nacl-lowlevel.js";

export const ENVELOPE_HEADER_BYTES = 16;
export const ENVELOPE_TAG_BYTES = 16;
/** Envelope length = ENVELOPE_OVERHEAD + plaintext length. */
export const ENVELOPE_OVERHEAD = ENVELOPE_HEADER_BYTES + ENVELOPE_TAG_BYTES;
/** Bytes the caller must leave zeroed at the front of a plaintext buffer passed to sealPadded. */
export const PLAINTEXT_HEADROOM = ZERO_BYTES;

const MAGIC0 = 0x4d;
const MAGIC1 = 0x41;
export const DIRECTION_NODE_TO_COORDINATOR = 1;
export const DIRECTION_COORDINATOR_TO_NODE = 2;

/** Counters stay below 2^53 so they are exact JS numbers (2^53 messages will not happen). */
const MAX_COUNTER_HI = 0x1fffff;

export function directionsFor(role: Role): { send: number; recv: number } {
  return role === "node"
    ? { send: DIRECTION_NODE_TO_COORDINATOR, recv: DIRECTION_COORDINATOR_TO_NODE }
    : { send: DIRECTION_COORDINATOR_TO_NODE, recv: DIRECTION_NODE_TO_COORDINATOR };
}

function nonceFor(direction: number, counter: number): Uint8Array {
  const n = new Uint8Array(24);
  n[0] = direction;
  const v = new DataView(n.buffer);
  v.setUint32(1, Math.floor(counter / 0x100000000));
  v.setUint32(5, counter >>> 0);
  return n;
}

export class SessionCipher {
  private sendCounter = 0;
  private lastReceived = -1;
  private readonly key: Uint8Array;

  constructor(
    key: Uint8Array,
    private readonly sendDirection: number,
    private readonly recvDirection: number,
  ) {
    if (key.length !== 32) throw new Error("session key must be 32 bytes");
    this.key = new Uint8Array(key);
  }

  /** Counter the next sealed envelope will carry. */
  get nextSendCounter(): number {
    return this.sendCounter;
  }

  /** Highest counter accepted so far (-1 before the first). */
  get lastReceivedCounter(): number {
    return this.lastReceived;
  }

  /**
   * Seal a plaintext that sits at `padded[PLAINTEXT_HEADROOM..]`, with the first 32 bytes zero. No copy
   * of the plaintext is made; the envelope is written into one new buffer of the same length.
   */
  sealPadded(padded: Uint8Array): Uint8Array {
    if (padded.length < PLAINTEXT_HEADROOM) throw new Error("padded plaintext too short");
    for (let i = 0; i < PLAINTEXT_HEADROOM; i++) padded[i] = 0;
    const counter = this.sendCounter++;
    const env = new Uint8Array(padded.length);
    // Envelope and padded plaintext have the same length: header(16)+tag(16)+ct == zeros(32)+pt.
    cryptoSecretbox(env, padded, padded.length, nonceFor(this.sendDirection, counter), this.key);
    // crypto_secretbox zeroed env[0..16); the header goes there.
    env[0] = MAGIC0;
    env[1] = MAGIC1;
    env[2] = PROTOCOL_VERSION;
    env[3] = this.sendDirection;
    const v = new DataView(env.buffer, env.byteOffset, 16);
    v.setUint32(4, 0);
    v.setUint32(8, Math.floor(counter / 0x100000000));
    v.setUint32(12, counter >>> 0);
    return env;
  }

  /** Convenience for small plaintexts: copies into a padded buffer, then seals. */
  seal(plaintext: Uint8Array): Uint8Array {
    const padded = new Uint8Array(PLAINTEXT_HEADROOM + plaintext.length);
    padded.set(plaintext, PLAINTEXT_HEADROOM);
    return this.sealPadded(padded);
  }

  /** Check the header, authenticate and decrypt. Returns the plaintext (a view into a new buffer). */
  open(env: Uint8Array): Uint8Array {
    if (env.length < ENVELOPE_OVERHEAD) throw new DecodeError(`envelope of ${env.length} bytes is too short`);
    if (env[0] !== MAGIC0 || env[1] !== MAGIC1) throw new DecodeError("not a memarc envelope (bad magic)");
    if (env[2] !== PROTOCOL_VERSION)
      throw new VersionError(`envelope has protocol version ${env[2]}, expected ${PROTOCOL_VERSION}`);
    if (env[3] !== this.recvDirection)
      throw new ReplayError(
        `envelope direction ${env[3]} is not ours (${this.recvDirection}): reflected message`,
      );
    const v = new DataView(env.buffer, env.byteOffset, 16);
    if (v.getUint32(4) !== 0) throw new DecodeError("envelope reserved bytes are not zero");
    const hi = v.getUint32(8);
    if (hi > MAX_COUNTER_HI) throw new DecodeError("envelope counter out of range");
    const counter = hi * 0x100000000 + v.getUint32(12);
    if (counter <= this.lastReceived)
      throw new ReplayError(
        `envelope counter ${counter} ≤ last accepted ${this.lastReceived}: replayed or reordered message`,
        { counter, last: this.lastReceived },
      );
    const out = new Uint8Array(env.length);
    // The header occupies the 16 bytes crypto_secretbox_open ignores, so the envelope is used in place.
    if (cryptoSecretboxOpen(out, env, env.length, nonceFor(this.recvDirection, counter), this.key) !== 0)
      throw new DecryptError(
        "envelope failed authentication (tampered, or sealed under another session key)",
      );
    // Only an authentic envelope may advance the window; a forged one must not be able to block the peer.
    this.lastReceived = counter;
    return out.subarray(PLAINTEXT_HEADROOM);
  }

  /** Forget the key (best effort; JS may have copies). */
  destroy(): void {
    this.key.fill(0);
  }
}
