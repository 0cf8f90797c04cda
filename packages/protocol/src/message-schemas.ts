/**
 * Schemas for every message, built from the Limits in force, plus the check of an update's tensors
 * against what the round sent out. Nothing decoded from the wire is used before passing through here.
 */
import { SchemaError, UnexpectedMessageError, VersionError } from "./errors.js";
import type {
  ChallengeMessage,
  CoordinatorMessage,
  HandshakeMessage,
  JoinMessage,
  Limits,
  NamedTensor,
  NodeMessage,
  RefusalMessage,
  ResponseMessage,
  Role,
  TensorSpec,
} from "./messages.js";
import { PROTOCOL_VERSION } from "./messages.js";
import {
  array,
  bool,
  bytes,
  float32,
  int,
  literal,
  nullable,
  num,
  object,
  oneOf,
  optional,
  type Schema,
  str,
  tagged,
} from "./schema.js";

const NAME = /^[A-Za-z0-9_.:/[\]-]+$/;
const TOKEN = /^[A-Za-z0-9_.:/-]+$/;
const CODE = /^E_[A-Z0-9_]+$/;

/** Round ids are unsigned 32-bit so they pack into the signed update digest unambiguously. */
const roundId = int({ min: 0, max: 0xffffffff });
/** Epoch milliseconds, sane range (year 2001 .. 2286). */
const epochMs = int({ min: 1e12, max: 1e13 });

function tensorSchema(l: Limits): Schema<NamedTensor> {
  const base = object({
    name: str({ min: 1, max: l.maxNameLength, pattern: NAME }),
    shape: array(int({ min: 0, max: l.maxTensorValues }), { max: l.maxRank }),
    data: float32({ maxLength: l.maxTensorValues }),
  });
  return {
    describe: "tensor",
    parse(v, path) {
      const t = base.parse(v, path);
      let n = 1;
      for (const d of t.shape) n *= d;
      if (n !== t.data.length)
        throw new SchemaError(`${path}: shape [${t.shape}] needs ${n} values, data has ${t.data.length}`, {
          path,
        });
      return t;
    },
  };
}

function tensorList(l: Limits): Schema<NamedTensor[]> {
  const list = array(tensorSchema(l), { max: l.maxTensors });
  return {
    describe: "tensor[]",
    parse(v, path) {
      const ts = list.parse(v, path);
      const seen = new Set<string>();
      for (const t of ts) {
        if (seen.has(t.name)) throw new SchemaError(`${path}: duplicate tensor "${t.name}"`, { path });
        seen.add(t.name);
      }
      return ts;
    },
  };
}

function build(l: Limits) {
  const shortStr = str({ min: 1, max: 64, pattern: TOKEN });
  const text = str({ max: l.maxStringLength });
  const tensors = tensorList(l);
  const dp = object({
    perExampleClip: num({ gt: 0 }),
    noiseMultiplier: num({ gt: 0 }),
    delta: num({ gt: 0, lt: 1 }),
    expectedBatchSize: num({ gt: 0 }),
  });
  const training = object({
    steps: int({ min: 1, max: 1_000_000 }),
    sampleRate: num({ gt: 0, max: 1 }),
    optimizer: oneOf(["sgd", "adam", "adamw"] as const),
    learningRate: num({ gt: 0, lt: 100 }),
    schedule: oneOf(["constant", "linear", "cosine"] as const),
    warmupSteps: int({ min: 0, max: 1_000_000 }),
    maxPhysicalBatch: int({ min: 1, max: 4096 }),
    contextLength: nullable(int({ min: 1, max: 65_536 })),
    updateClip: nullable(num({ gt: 0 })),
    reportUnclipped: bool(),
    dp: nullable(dp),
  });
  const ack = object({
    type: literal("ack"),
    of: oneOf(["join", "round_task", "update", "evaluate_task", "evaluate_result", "bye"] as const),
    roundId: nullable(roundId),
  });
  const error = object({
    type: literal("error"),
    code: str({ min: 3, max: 64, pattern: CODE }),
    message: text,
    roundId: nullable(roundId),
    fatal: bool(),
  });
  const bye = object({ type: literal("bye"), reason: str({ max: 256 }) });

  const coordinator: Schema<CoordinatorMessage> = tagged<CoordinatorMessage>("type", {
    round_task: object({
      type: literal("round_task"),
      roundId,
      scheme: shortStr,
      weights: tensors,
      training,
      deadline: epochMs,
    }),
    evaluate_task: object({
      type: literal("evaluate_task"),
      roundId,
      weights: tensors,
      mechanism: object({
        noiseMultiplier: num({ gt: 0 }),
        lossBound: num({ gt: 0 }),
        delta: num({ gt: 0, lt: 1 }),
      }),
      deadline: epochMs,
    }),
    ack,
    error,
    bye,
  });
  const node: Schema<NodeMessage> = tagged<NodeMessage>("type", {
    update: object({
      type: literal("update"),
      roundId,
      delta: tensors,
      epsilonSpent: num({ min: 0 }),
      unclipped: nullable(bool()),
    }),
    evaluate_result: object({
      type: literal("evaluate_result"),
      roundId,
      count: num(),
      correct: num(),
      scaledLoss: num(),
      epsilonSpent: num({ min: 0 }),
    }),
    ack,
    error,
    bye,
  });

  const key = bytes({ length: 32 });
  const version = int({ max: 0xffff });
  const receiveLimits = object({
    maxEnvelopeBytes: int({ min: 4096, max: 64 * 1024 * 1024 }),
    maxMessageBytes: int({ min: 4096, max: 0xffffffff }),
  });
  const handshake: Schema<HandshakeMessage> = tagged<HandshakeMessage>("type", {
    join: object({
      type: literal("join"),
      version,
      nodeId: key,
      ephemeralKey: key,
      capabilities: object({
        backend: shortStr,
        memoryBytes: int({ min: 0 }),
        schemes: array(shortStr, { max: l.maxSchemes }),
      }),
      receiveLimits,
    }) satisfies Schema<JoinMessage>,
    challenge: object({
      type: literal("challenge"),
      version,
      coordinatorKey: key,
      ephemeralKey: key,
      nonce: key,
      receiveLimits,
      signature: bytes({ length: 64 }),
    }) satisfies Schema<ChallengeMessage>,
    response: object({
      type: literal("response"),
      version,
      signature: bytes({ length: 64 }),
      tokenProof: optional(bytes({ length: 32 })),
    }) satisfies Schema<ResponseMessage>,
    refused: object({
      type: literal("refused"),
      version,
      code: str({ min: 3, max: 64, pattern: CODE }),
      message: text,
    }) satisfies Schema<RefusalMessage>,
  });
  return { coordinator, node, handshake };
}

const cache = new WeakMap<Limits, ReturnType<typeof build>>();
function schemasFor(l: Limits): ReturnType<typeof build> {
  let s = cache.get(l);
  if (!s) {
    s = build(l);
    cache.set(l, s);
  }
  return s;
}

export interface ValidateOptions {
  limits: Limits;
  /**
   * For updates: the tensors the round sent (name, shape, dtype). Returning undefined means no update is
   * expected for that round (E_UNEXPECTED). Omit the function to check structure only.
   */
  expectedUpdate?: (roundId: number) => readonly TensorSpec[] | undefined;
}

/** Validate a decoded session message sent by `sender`. Throws SchemaError / UnexpectedMessageError. */
export function validateSessionMessage(
  sender: "coordinator",
  value: unknown,
  opts: ValidateOptions,
): CoordinatorMessage;
export function validateSessionMessage(sender: "node", value: unknown, opts: ValidateOptions): NodeMessage;
export function validateSessionMessage(
  sender: Role,
  value: unknown,
  opts: ValidateOptions,
): CoordinatorMessage | NodeMessage;
export function validateSessionMessage(
  sender: Role,
  value: unknown,
  opts: ValidateOptions,
): CoordinatorMessage | NodeMessage {
  const s = schemasFor(opts.limits);
  if (sender === "coordinator") return s.coordinator.parse(value, "message");
  const msg = s.node.parse(value, "message");
  if (msg.type === "update" && opts.expectedUpdate) {
    const spec = opts.expectedUpdate(msg.roundId);
    if (!spec) throw new UnexpectedMessageError(`no update is expected for round ${msg.roundId}`);
    checkTensorsAgainstSpec(msg.delta, spec, "message.delta");
  }
  return msg;
}

/** Validate a decoded handshake message; a foreign protocol version is reported as E_VERSION first. */
export function validateHandshakeMessage(value: unknown, limits: Limits): HandshakeMessage {
  if (typeof value === "object" && value !== null && "version" in value) {
    const v = (value as { version: unknown }).version;
    if (v !== PROTOCOL_VERSION)
      throw new VersionError(
        `peer speaks protocol version ${String(v).slice(0, 16)}, we speak ${PROTOCOL_VERSION}`,
        {
          ours: PROTOCOL_VERSION,
          theirs: typeof v === "number" ? v : null,
        },
      );
  }
  return schemasFor(limits).handshake.parse(value, "handshake");
}

/** Names must match exactly (no missing, no extra), shapes must be equal, dtype float32. */
export function checkTensorsAgainstSpec(
  tensors: readonly NamedTensor[],
  spec: readonly TensorSpec[],
  path: string,
): void {
  if (tensors.length !== spec.length)
    throw new SchemaError(`${path}: expected ${spec.length} tensors, got ${tensors.length}`, { path });
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const s of spec) {
    const t = byName.get(s.name);
    if (!t) throw new SchemaError(`${path}: missing tensor "${s.name}"`, { path, tensor: s.name });
    if ((s.dtype ?? "float32") !== "float32" || !(t.data instanceof Float32Array))
      throw new SchemaError(`${path}: tensor "${s.name}" must be float32`, { path, tensor: s.name });
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]))
      throw new SchemaError(`${path}: tensor "${s.name}" has shape [${t.shape}], expected [${s.shape}]`, {
        path,
        tensor: s.name,
      });
  }
}

/** The spec (names, shapes, dtype) of a tensor list, e.g. what an update to these weights must look like. */
export function tensorSpecOf(tensors: readonly NamedTensor[]): TensorSpec[] {
  return tensors.map((t) => ({ name: t.name, shape: [...t.shape], dtype: "float32" }));
}
