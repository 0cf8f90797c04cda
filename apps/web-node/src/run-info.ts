/**
 * What a coordinator started with --browser-nodes tells the page about its run (GET run.json, next
 * to the page). Everything here is public: the run's settings and the coordinator's public key. The
 * join token is never in it; a person types it in.
 */
export interface RunInfo {
  /** Version of this document's shape. */
  version: 1;
  /** The coordinator's node endpoint (ws:// or wss://), as nodes reach it. */
  url: string;
  /** The coordinator's Ed25519 public key, base64: the page pins it. */
  coordinatorKey: string;
  /** SHA-256 of that key, hex in groups of four, for a person to compare with the operator's. */
  fingerprint: string;
  scheme: string;
  privacyUnit: "example" | "user";
  /** The run's ε budget for its unit, and its δ. */
  epsilon: number;
  delta: number;
  rounds: number;
  /** Tokens per example (the coordinator's plan). */
  contextLength: number;
  /** Class names by label id; a file's string labels must be among them. */
  classNames: string[];
  /** "token": open enrolment, the person types the join token; "allow-list": the operator adds the page's key. */
  enrolment: "token" | "allow-list";
  /** The backbone's files, served under model/ next to the page (null: the scheme needs none). */
  model: { architecture: "gpt2" | "bert" | "roberta"; files: string[] } | null;
}

/**
 * The class names a file's string labels must match: the run's, when it has real names; numbered
 * classes ("0", "1", …) take integer labels, and string labels then name classes in sorted order,
 * as `memarc client` reads a file.
 */
export function labelClasses(run: RunInfo): string[] | undefined {
  return run.classNames.every((c, i) => c === String(i)) ? undefined : run.classNames;
}

/** The hex fingerprint of a public key as RunInfo shows it (the page recomputes it to check). */
export function fingerprintHex(digest: Uint8Array): string {
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return hex.match(/.{4}/g)!.join(" ");
}
