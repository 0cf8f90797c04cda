export { ClientChannel, type ClientChannelOptions } from "./client-channel.js";
export { type CloseReason, describeCloseReason } from "./close-reason.js";
export { decodeSessionMessage, encodeMessage } from "./codec.js";
// Every error class, so a library user can tell them apart with instanceof as well as by `code`.
export {
  AllowListError,
  BadSignatureError,
  BadTokenError,
  ChunkError,
  ClosedError,
  DecodeError,
  DecryptError,
  ERROR_CODES,
  HandshakeError,
  KeyFileError,
  NotAdmittedError,
  ProtocolError,
  type ProtocolErrorCode,
  type ProtocolErrorJSON,
  ReplayError,
  SchemaError,
  TimeoutError,
  TlsError,
  TooLargeError,
  UnexpectedMessageError,
  UnknownCoordinatorError,
  UnknownNodeError,
  VersionError,
} from "./errors.js";
export type { ChunkAck, ClientToServerEvents, ServerToClientEvents } from "./events.js";
export { sha512 } from "./hashing.js";
export {
  AllowList,
  generateIdentity,
  type Identity,
  nodeIdString,
  parsePublicKey,
  tokenProof,
} from "./identity.js";
export { type Logger, type LogRecord, MemoryLogger, silentLogger } from "./logger.js";
export type { ValidateOptions } from "./message-schemas.js";
export {
  type AckMessage,
  type ByeMessage,
  type Capabilities,
  type ChallengeMessage,
  type CoordinatorMessage,
  DEFAULT_LIMITS,
  type DType,
  type ErrorMessage,
  type EvaluateResultMessage,
  type EvaluateTaskMessage,
  type EvaluationMechanism,
  type HandshakeMessage,
  type JoinMessage,
  type Limits,
  type LocalDpPlan,
  type LocalTrainingPlan,
  type NamedTensor,
  type NodeMessage,
  PROTOCOL_VERSION,
  type ReceiveLimits,
  type RefusalMessage,
  type ResponseMessage,
  type Role,
  type RoundTaskMessage,
  type SessionMessage,
  type TensorSpec,
  type UpdateMessage,
} from "./messages.js";
export { type NodeIdentity, type NodeSigner, signAs } from "./node-signer.js";
export {
  type ClientSession,
  type MessageInfo,
  SecureSession,
  type ServerSession,
  type SessionOptions,
} from "./session.js";
export { DEFAULT_TIMING, type EnvelopeTransport, type Timing } from "./transfer/transport.js";
