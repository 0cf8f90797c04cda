/**
 * Frames: the plaintext inside each envelope. Every message is a transfer of one or more chunks, each
 * carrying the same header, so small and large messages take one code path.
 *
 *   0   kind u8        1 = chunk
 *   1   flags u8       bit 0: signature present (updates)
 *   2   reserved u16   zero
 *   4   transferId u32 per sender, increasing
 *   8   index u32
 *  12   count u32
 *  16   totalSize u32  bytes of the encoded message (checked against the limit before allocating)
 *  20   hash (64)      SHA-512 of the encoded message: integrity of the reassembly
 *  84   signature (64) Ed25519 over the update digest, or zeros
 * 148   data           bytes [index·c, min(total,(index+1)·c)) with c = ceil(total/count)
 */
import { constantTimeEqual } from "./crypto-primitives.js";
import { PLAINTEXT_HEADROOM } from "./envelope.js";
import { ChunkError, TooLargeError } from "./errors.js";
import { sha512 } from "./hashing.js";

export const FRAME_HEADER_BYTES = 148;
const KIND_CHUNK = 1;
export const FLAG_SIGNED = 1;
const MAX_U32 = 0xffffffff;

export interface FrameHeader {
  flags: number;
  transferId: number;
  index: number;
  count: number;
  totalSize: number;
  hash: Uint8Array;
  signature: Uint8Array;
}

export interface Frame {
  header: FrameHeader;
  data: Uint8Array;
}

/** How a payload of `total` bytes splits when a chunk may carry at most `maxData` bytes. */
export function planChunks(total: number, maxData: number): { count: number; chunkSize: number } {
  if (maxData < 1) throw new RangeError("chunk data size must be ≥ 1");
  const count = Math.max(1, Math.ceil(total / maxData));
  return { count, chunkSize: Math.ceil(total / count) };
}

/**
 * Build the padded plaintext of chunk `index` (PLAINTEXT_HEADROOM zero bytes, header, data): the one
 * copy of the payload the send path makes, into exactly the buffer the cipher seals in place.
 */
export function buildChunk(
  payload: Uint8Array,
  h: Omit<FrameHeader, "index">,
  index: number,
  chunkSize: number,
): Uint8Array {
  const start = index * chunkSize;
  const end = Math.min(payload.length, start + chunkSize);
  const buf = new Uint8Array(PLAINTEXT_HEADROOM + FRAME_HEADER_BYTES + (end - start));
  const o = PLAINTEXT_HEADROOM;
  const v = new DataView(buf.buffer, o, FRAME_HEADER_BYTES);
  v.setUint8(0, KIND_CHUNK);
  v.setUint8(1, h.flags);
  v.setUint16(2, 0);
  v.setUint32(4, h.transferId);
  v.setUint32(8, index);
  v.setUint32(12, h.count);
  v.setUint32(16, h.totalSize);
  buf.set(h.hash, o + 20);
  buf.set(h.signature, o + 84);
  buf.set(payload.subarray(start, end), o + FRAME_HEADER_BYTES);
  return buf;
}

/** Parse and sanity-check a frame (structure only; transfer consistency is the reassembler's job). */
export function parseFrame(plain: Uint8Array): Frame {
  if (plain.length < FRAME_HEADER_BYTES) throw new ChunkError(`frame of ${plain.length} bytes is truncated`);
  const v = new DataView(plain.buffer, plain.byteOffset, FRAME_HEADER_BYTES);
  if (v.getUint8(0) !== KIND_CHUNK) throw new ChunkError(`unknown frame kind ${v.getUint8(0)}`);
  const flags = v.getUint8(1);
  if ((flags & ~FLAG_SIGNED) !== 0 || v.getUint16(2) !== 0) throw new ChunkError("frame has unknown flags");
  const header: FrameHeader = {
    flags,
    transferId: v.getUint32(4),
    index: v.getUint32(8),
    count: v.getUint32(12),
    totalSize: v.getUint32(16),
    hash: plain.subarray(20, 84),
    signature: plain.subarray(84, 148),
  };
  const { count, index, totalSize } = header;
  if (totalSize < 1) throw new ChunkError("transfer declares an empty payload");
  if (count < 1 || count > totalSize)
    throw new ChunkError(`transfer declares ${count} chunks for ${totalSize} bytes`);
  if (index >= count) throw new ChunkError(`chunk index ${index} ≥ chunk count ${count}`);
  return { header, data: plain.subarray(FRAME_HEADER_BYTES) };
}

interface Transfer {
  header: FrameHeader;
  chunkSize: number;
  buf: Uint8Array;
  have: Uint8Array;
  received: number;
  lastProgress: number;
}

export interface CompletedTransfer {
  transferId: number;
  payload: Uint8Array;
  hash: Uint8Array;
  signature: Uint8Array | undefined;
}

export interface ReassemblerOptions {
  maxMessageBytes: number;
  /** A transfer with no new chunk for this long is dropped (missing chunks). */
  transferTimeoutMs: number;
  now?: () => number;
}

/**
 * Collects chunks into messages. Duplicates (a resend after a lost ack) are idempotent; a chunk that
 * disagrees with its transfer's header, has the wrong length, or a reassembly whose hash does not match
 * is E_CHUNK; a declared size over the limit is E_TOO_LARGE before any allocation. The bytes held by
 * unfinished transfers never exceed maxMessageBytes in total.
 */
export class Reassembler {
  private readonly transfers = new Map<number, Transfer>();
  /** Finished or rejected transfer ids: late duplicates of their chunks are ignored. */
  private readonly finished = new Set<number>();
  private pendingBytes = 0;
  private readonly now: () => number;

  constructor(private readonly opts: ReassemblerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get pending(): number {
    return this.transfers.size;
  }

  /** Returns the completed message when this chunk was the last one missing, otherwise undefined. */
  accept(frame: Frame): CompletedTransfer | undefined {
    const h = frame.header;
    if (this.finished.has(h.transferId)) return undefined;
    let t = this.transfers.get(h.transferId);
    if (!t) {
      if (h.totalSize > this.opts.maxMessageBytes) {
        this.finish(h.transferId);
        throw new TooLargeError(
          `message of ${h.totalSize} bytes exceeds the limit of ${this.opts.maxMessageBytes} bytes`,
          { transferId: h.transferId, totalSize: h.totalSize, limit: this.opts.maxMessageBytes },
        );
      }
      if (this.pendingBytes + h.totalSize > this.opts.maxMessageBytes) {
        this.finish(h.transferId);
        throw new TooLargeError(
          `message of ${h.totalSize} bytes would exceed the ${this.opts.maxMessageBytes}-byte budget for unfinished transfers`,
          { transferId: h.transferId },
        );
      }
      t = {
        header: { ...h, hash: h.hash.slice(), signature: h.signature.slice() },
        chunkSize: Math.ceil(h.totalSize / h.count),
        buf: new Uint8Array(h.totalSize),
        have: new Uint8Array(h.count),
        received: 0,
        lastProgress: this.now(),
      };
      if ((h.count - 1) * t.chunkSize >= h.totalSize) {
        this.finish(h.transferId);
        throw new ChunkError(`transfer ${h.transferId}: ${h.count} chunks cannot split ${h.totalSize} bytes`);
      }
      this.transfers.set(h.transferId, t);
      this.pendingBytes += h.totalSize;
    } else if (
      t.header.count !== h.count ||
      t.header.totalSize !== h.totalSize ||
      t.header.flags !== h.flags ||
      !constantTimeEqual(t.header.hash, h.hash) ||
      !constantTimeEqual(t.header.signature, h.signature)
    ) {
      this.drop(h.transferId);
      throw new ChunkError(
        `transfer ${h.transferId}: chunk ${h.index} disagrees with the transfer's header`,
        {
          transferId: h.transferId,
          index: h.index,
        },
      );
    }
    const start = h.index * t.chunkSize;
    const expected = Math.min(t.chunkSize, h.totalSize - start);
    if (frame.data.length !== expected) {
      this.drop(h.transferId);
      throw new ChunkError(
        `transfer ${h.transferId}: chunk ${h.index} has ${frame.data.length} bytes, expected ${expected} (truncated?)`,
        { transferId: h.transferId, index: h.index },
      );
    }
    if (t.have[h.index]) return undefined; // idempotent resend
    t.buf.set(frame.data, start);
    t.have[h.index] = 1;
    t.received++;
    t.lastProgress = this.now();
    if (t.received < h.count) return undefined;

    this.finish(h.transferId);
    const hash = sha512(t.buf);
    if (!constantTimeEqual(hash, t.header.hash))
      throw new ChunkError(`transfer ${h.transferId}: reassembled payload does not match its hash`, {
        transferId: h.transferId,
      });
    return {
      transferId: h.transferId,
      payload: t.buf,
      hash,
      signature: t.header.flags & FLAG_SIGNED ? t.header.signature : undefined,
    };
  }

  /** Drop transfers that made no progress for transferTimeoutMs; returns an E_CHUNK per dropped transfer. */
  expire(): ChunkError[] {
    const now = this.now();
    const out: ChunkError[] = [];
    for (const [id, t] of this.transfers) {
      if (now - t.lastProgress < this.opts.transferTimeoutMs) continue;
      const missing: number[] = [];
      for (let i = 0; i < t.have.length && missing.length < 16; i++) if (!t.have[i]) missing.push(i);
      this.drop(id);
      out.push(
        new ChunkError(
          `transfer ${id} incomplete after ${this.opts.transferTimeoutMs} ms: missing chunk(s) ${missing.join(", ")}${
            t.header.count - t.received > missing.length ? ", …" : ""
          } of ${t.header.count}`,
          { transferId: id, missing, received: t.received, count: t.header.count },
        ),
      );
    }
    return out;
  }

  clear(): void {
    this.transfers.clear();
    this.pendingBytes = 0;
  }

  private drop(id: number): void {
    this.finish(id);
  }

  private finish(id: number): void {
    const t = this.transfers.get(id);
    if (t) {
      this.pendingBytes -= t.header.totalSize;
      this.transfers.delete(id);
    }
    this.finished.add(id);
    if (this.finished.size > 1024) {
      const oldest = this.finished.values().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
  }
}

export { MAX_U32 };
