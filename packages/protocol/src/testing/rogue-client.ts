/**
 * Test support: a node that runs the real handshake over real socket.io but then lets a test put any
 * bytes on the wire — tampered, replayed, reordered, truncated or oversized envelopes — and see exactly
 * what the coordinator answers. Not exported from the package index.
 */
import { io, type Socket } from "socket.io-client";
import {
  buildChunk,
  FLAG_SIGNED,
  type FrameHeader,
  parseFrame,
  planChunks,
  Reassembler,
} from "../chunking.js";
import { decodeHandshake, decodeRaw, encodeMessage } from "../codec.js";
import { DIRECTION_COORDINATOR_TO_NODE, DIRECTION_NODE_TO_COORDINATOR, SessionCipher } from "../envelope.js";
import type { ChunkAck, ClientToServerEvents, ServerToClientEvents } from "../events.js";
import { answerChallenge, createJoin } from "../handshake.js";
import { sha512 } from "../hashing.js";
import { type Identity, tokenProof } from "../identity.js";
import { type Capabilities, DEFAULT_LIMITS, type JoinMessage } from "../messages.js";
import { signUpdate, updateDigest } from "../update-signature.js";

export const TEST_CAPABILITIES: Capabilities = {
  backend: "cpu",
  memoryBytes: 1 << 30,
  schemes: ["lora", "full"],
};

export interface RogueOptions {
  url: string;
  identity: Identity;
  coordinatorKey: Uint8Array;
  joinToken?: string;
  /** Rewrite the join before it is sent (e.g. another version). */
  mutateJoin?: (j: JoinMessage) => Record<string, unknown>;
  /** Sign the handshake with this key instead of the identity's (wrong key). */
  signingIdentity?: Identity;
  /** Called when the coordinator's challenge arrives (before answering it). */
  onChallenge?: () => void;
}

export class RogueClient {
  readonly cipher: SessionCipher;
  /** Decoded (unvalidated) messages from the coordinator, in order. */
  readonly inbox: unknown[] = [];
  disconnected = false;
  private transferId = 1000;
  private readonly reasm = new Reassembler({ maxMessageBytes: 1 << 30, transferTimeoutMs: 60_000 });
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>,
    key: Uint8Array,
    readonly identity: Identity,
  ) {
    this.cipher = new SessionCipher(key, DIRECTION_NODE_TO_COORDINATOR, DIRECTION_COORDINATOR_TO_NODE);
    socket.on("msg", (env: unknown, ack: unknown) => {
      try {
        const done = this.reasm.accept(parseFrame(this.cipher.open(env as Uint8Array)));
        if (done) this.inbox.push(decodeRaw(done.payload, 1 << 30));
      } catch (err) {
        this.inbox.push({ rogueError: String(err) });
      }
      if (typeof ack === "function") ack({ ok: true });
      this.wake();
    });
    socket.on("disconnect", () => {
      this.disconnected = true;
      this.wake();
    });
  }

  /** Run the handshake. Rejects with `{refused: code}` info as an Error whose message is the code. */
  static connect(o: RogueOptions): Promise<RogueClient> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(o.url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    return new Promise((resolve, reject) => {
      const { join, ephemeral } = createJoin(o.identity, TEST_CAPABILITIES, DEFAULT_LIMITS);
      socket.on("connect", () =>
        socket.emit("join", encodeMessage((o.mutateJoin?.(join) ?? join) as JoinMessage)),
      );
      socket.on("refused", (p: unknown) => {
        const r = decodeHandshake(p as Uint8Array, DEFAULT_LIMITS) as { code: string; message: string };
        socket.disconnect();
        reject(Object.assign(new Error(`${r.code}: ${r.message}`), { code: r.code }));
      });
      socket.on("challenge", async (p: unknown) => {
        try {
          const ch = decodeHandshake(p as Uint8Array, DEFAULT_LIMITS);
          if (ch.type !== "challenge") throw new Error("not a challenge");
          o.onChallenge?.();
          const signer = o.signingIdentity ?? o.identity;
          const token = o.joinToken;
          const { response, key } = await answerChallenge(
            { publicKey: o.identity.publicKey, secretKey: signer.secretKey },
            ephemeral,
            o.coordinatorKey,
            join,
            ch,
            token === undefined ? undefined : (t) => tokenProof(token, t),
          );
          const rogue = new RogueClient(socket, key, o.identity);
          socket.emit("response", encodeMessage(response));
          rogue.nextMessage(5000).then(
            (m) => {
              const a = m as { type?: string; of?: string };
              if (a.type === "ack" && a.of === "join") resolve(rogue);
              else reject(Object.assign(new Error((m as { code?: string }).code ?? "E_HANDSHAKE"), m));
            },
            (err) => reject(err),
          );
        } catch (err) {
          reject(err);
        }
      });
      socket.on("connect_error", reject);
    });
  }

  /** Emit raw bytes as a `msg` event and return the coordinator's ack (or "timeout"/"disconnected"). */
  sendEnvelope(env: unknown, timeoutMs = 2000): Promise<ChunkAck | "timeout"> {
    return new Promise((resolve) => {
      this.socket.timeout(timeoutMs).emit("msg", env as Uint8Array, (err: Error | null, reply: unknown) => {
        resolve(err ? "timeout" : (reply as ChunkAck));
      });
    });
  }

  /** Encode any object (valid or not), chunk and seal it like a real node, without sending. */
  seal(
    obj: unknown,
    o: {
      sign?: boolean;
      maxChunkData?: number;
      mutateHeader?: (h: FrameHeader) => void;
      signWith?: Identity;
    } = {},
  ): Uint8Array[] {
    const payload = encodeMessage(obj as never);
    return this.sealPayload(payload, o);
  }

  sealPayload(
    payload: Uint8Array,
    o: {
      sign?: boolean;
      maxChunkData?: number;
      mutateHeader?: (h: FrameHeader) => void;
      signWith?: Identity;
    } = {},
  ): Uint8Array[] {
    const hash = sha512(payload);
    let signature: Uint8Array = new Uint8Array(64);
    let flags = 0;
    if (o.sign) {
      const rid = (decodeRaw(payload, 1 << 30) as { roundId: number }).roundId;
      signature = signUpdate(
        updateDigest(rid, this.identity.publicKey, hash),
        (o.signWith ?? this.identity).secretKey,
      );
      flags = FLAG_SIGNED;
    }
    const { count, chunkSize } = planChunks(payload.length, o.maxChunkData ?? 256 * 1024);
    const header: FrameHeader = {
      flags,
      transferId: this.transferId++,
      index: 0,
      count,
      totalSize: payload.length,
      hash,
      signature,
    };
    o.mutateHeader?.(header);
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++)
      out.push(this.cipher.sealPadded(buildChunk(payload, header, i, chunkSize)));
    return out;
  }

  /** Seal and send every chunk in order; returns the acks. */
  async send(obj: unknown, o: Parameters<RogueClient["seal"]>[1] = {}): Promise<(ChunkAck | "timeout")[]> {
    const acks: (ChunkAck | "timeout")[] = [];
    for (const env of this.seal(obj, o)) acks.push(await this.sendEnvelope(env));
    return acks;
  }

  /** Next decoded message from the coordinator (removed from the inbox). */
  async nextMessage(timeoutMs = 3000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.disconnected) throw new Error("disconnected");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timeout waiting for a message");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.inbox.shift();
  }

  /** Resolves true once the coordinator has closed the connection. */
  async waitDisconnect(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.disconnected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.disconnected;
  }

  close(): void {
    this.socket.disconnect();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
