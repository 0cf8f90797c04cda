/**
 * The handshake (SIGMA-style): both sides sign one transcript that binds the protocol version, both
 * long-term identities and both ephemeral X25519 keys to the coordinator's fresh nonce. The session key
 * comes only from the ephemeral keys (nacl.box.before), so a later leak of a long-term key does not
 * reveal past sessions; the signatures stop a man in the middle from swapping ephemeral keys.
 *
 *   node                                             coordinator
 *    | join {v, nodeId, ephN, capabilities}  ───────▶ | version? allow-list (or open enrolment)?
 *    | ◀─────── challenge {v, coordKey, ephC, nonce,  |
 *    |                     sigC(T)}                   |
 *    | coordKey == pinned? verify sigC(T)             |
 *    | response {v, sigN(T), [tokenProof]}  ────────▶ | verify sigN(T) with nodeId; token proof?
 *    | ◀─────── sealed ack{of:"join"} (key confirm.)  | K = box.before(ephN, ephC_secret)
 *
 *   T = SHA-512("memarc-handshake-v1" ‖ v ‖ limitsN ‖ limitsC ‖ nodeId ‖ ephN ‖ coordKey ‖ ephC ‖ nonce)
 *
 * Each side announces the largest envelope and message it accepts (receiveLimits, covered by T); the
 * other side chunks and sizes what it sends to fit.
 */
import nacl from "tweetnacl";
import { signDetached, verifyDetached } from "./ed25519.js";
import { BadSignatureError, UnknownCoordinatorError } from "./errors.js";
import { sha512, u32be, utf8 } from "./hashing.js";
import { bytesEqual, type Identity } from "./identity.js";
import type {
  Capabilities,
  ChallengeMessage,
  JoinMessage,
  ReceiveLimits,
  ResponseMessage,
} from "./messages.js";
import { PROTOCOL_VERSION } from "./messages.js";
import { type NodeIdentity, signAs } from "./node-signer.js";

const TRANSCRIPT_LABEL = utf8("memarc-handshake-v1");
const COORDINATOR_LABEL = utf8("memarc-coordinator-sig-v1\0");
const NODE_LABEL = utf8("memarc-node-sig-v1\0");

export interface TranscriptParts {
  version: number;
  nodeLimits: ReceiveLimits;
  coordinatorLimits: ReceiveLimits;
  nodeId: Uint8Array;
  nodeEphemeral: Uint8Array;
  coordinatorKey: Uint8Array;
  coordinatorEphemeral: Uint8Array;
  nonce: Uint8Array;
}

export function transcriptHash(p: TranscriptParts): Uint8Array {
  return sha512(
    TRANSCRIPT_LABEL,
    u32be(p.version),
    u32be(p.nodeLimits.maxEnvelopeBytes),
    u32be(p.nodeLimits.maxMessageBytes),
    u32be(p.coordinatorLimits.maxEnvelopeBytes),
    u32be(p.coordinatorLimits.maxMessageBytes),
    p.nodeId,
    p.nodeEphemeral,
    p.coordinatorKey,
    p.coordinatorEphemeral,
    p.nonce,
  );
}

function labelled(label: Uint8Array, t: Uint8Array): Uint8Array {
  const m = new Uint8Array(label.length + t.length);
  m.set(label);
  m.set(t, label.length);
  return m;
}

/** Node side, step 1: a fresh ephemeral key and the join message. */
export function createJoin(identity: NodeIdentity, capabilities: Capabilities, receiveLimits: ReceiveLimits) {
  const ephemeral = nacl.box.keyPair();
  const join: JoinMessage = {
    type: "join",
    version: PROTOCOL_VERSION,
    nodeId: identity.publicKey,
    ephemeralKey: ephemeral.publicKey,
    capabilities,
    receiveLimits: {
      maxEnvelopeBytes: receiveLimits.maxEnvelopeBytes,
      maxMessageBytes: receiveLimits.maxMessageBytes,
    },
  };
  return { join, ephemeral };
}

/** Coordinator side, step 2: answer a (validated, admitted) join with a signed challenge. */
export function createChallenge(identity: Identity, join: JoinMessage, receiveLimits: ReceiveLimits) {
  const coordinatorLimits = {
    maxEnvelopeBytes: receiveLimits.maxEnvelopeBytes,
    maxMessageBytes: receiveLimits.maxMessageBytes,
  };
  const ephemeral = nacl.box.keyPair();
  const nonce = nacl.randomBytes(32);
  const transcript = transcriptHash({
    version: PROTOCOL_VERSION,
    nodeLimits: join.receiveLimits,
    coordinatorLimits,
    nodeId: join.nodeId,
    nodeEphemeral: join.ephemeralKey,
    coordinatorKey: identity.publicKey,
    coordinatorEphemeral: ephemeral.publicKey,
    nonce,
  });
  const challenge: ChallengeMessage = {
    type: "challenge",
    version: PROTOCOL_VERSION,
    coordinatorKey: identity.publicKey,
    ephemeralKey: ephemeral.publicKey,
    nonce,
    receiveLimits: coordinatorLimits,
    signature: signDetached(labelled(COORDINATOR_LABEL, transcript), identity.secretKey),
  };
  return { challenge, ephemeral, transcript };
}

/**
 * Node side, step 3: check the coordinator is the pinned one and signed this transcript, then sign it
 * too (with a key file's secret or an asynchronous signer: node-signer.ts). Returns the session key;
 * the ephemeral secret is wiped.
 */
export async function answerChallenge(
  identity: NodeIdentity,
  ephemeral: nacl.BoxKeyPair,
  pinnedCoordinatorKey: Uint8Array,
  join: JoinMessage,
  challenge: ChallengeMessage,
  tokenProofFor?: (transcript: Uint8Array) => Uint8Array,
) {
  if (!bytesEqual(challenge.coordinatorKey, pinnedCoordinatorKey))
    throw new UnknownCoordinatorError(
      "the coordinator presented a key other than the pinned coordinator key",
    );
  if (!bytesEqual(join.ephemeralKey, ephemeral.publicKey) || !bytesEqual(join.nodeId, identity.publicKey))
    throw new Error("answerChallenge: join does not belong to this identity/ephemeral key");
  const transcript = transcriptHash({
    version: PROTOCOL_VERSION,
    nodeLimits: join.receiveLimits,
    coordinatorLimits: challenge.receiveLimits,
    nodeId: identity.publicKey,
    nodeEphemeral: ephemeral.publicKey,
    coordinatorKey: challenge.coordinatorKey,
    coordinatorEphemeral: challenge.ephemeralKey,
    nonce: challenge.nonce,
  });
  if (!verifyDetached(labelled(COORDINATOR_LABEL, transcript), challenge.signature, pinnedCoordinatorKey))
    throw new BadSignatureError("coordinator's handshake signature is invalid");
  const response: ResponseMessage = {
    type: "response",
    version: PROTOCOL_VERSION,
    signature: await signAs(identity, labelled(NODE_LABEL, transcript)),
  };
  if (tokenProofFor) response.tokenProof = tokenProofFor(transcript);
  const key = nacl.box.before(challenge.ephemeralKey, ephemeral.secretKey);
  ephemeral.secretKey.fill(0);
  return { response, key, transcript };
}

/** Coordinator side, step 4: verify the node's signature; returns the session key. */
export function verifyResponse(
  join: JoinMessage,
  ephemeral: nacl.BoxKeyPair,
  transcript: Uint8Array,
  response: ResponseMessage,
): Uint8Array {
  if (!verifyDetached(labelled(NODE_LABEL, transcript), response.signature, join.nodeId))
    throw new BadSignatureError("node's handshake signature does not verify against its node id");
  const key = nacl.box.before(join.ephemeralKey, ephemeral.secretKey);
  ephemeral.secretKey.fill(0);
  return key;
}
