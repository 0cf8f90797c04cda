import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { generateIdentity, nodeIdString } from "@memarc/protocol";
import { writeKeyFile } from "@memarc/protocol/node";
import type { Command } from "../cli/command.js";

export const keygenCommand: Command = {
  name: "keygen",
  summary: "create a long-term Ed25519 identity key file (node id or coordinator key)",
  details:
    "Writes a JSON key file {type, publicKey, secretKey} (base64) with mode 0600 and prints the public\n" +
    "key: a node's public key is its node id (put it in the coordinator's allow-list); a coordinator's\n" +
    "public key is what nodes pin. Refuses to overwrite an existing file unless --force.\n\n" +
    "--pub-out also writes the public key alone (one line, base64) for sharing: a node's goes into the\n" +
    "coordinator's allow-list, the coordinator's is what nodes pass to --coordinator-key.\n\n" +
    "Example: memarc keygen --out node.key --pub-out node.pub --json",
  options: {
    out: { type: "string", value: "PATH", description: "key file to write (required)" },
    force: { type: "boolean", description: "replace an existing key file (the old identity is lost)" },
    "pub-out": { type: "string", value: "PATH", description: "also write the public key alone to PATH" },
  },
  async run({ flags, out }) {
    const path = resolve(flags.requireString("out"));
    const id = generateIdentity();
    writeKeyFile(path, id, { force: flags.bool("force") });
    const publicKey = nodeIdString(id.publicKey);
    const pubOut = flags.string("pub-out");
    if (pubOut) writeFileSync(resolve(pubOut), `${publicKey}\n`, { mode: 0o644 });
    out.result(
      { publicKey, path, ...(pubOut ? { publicKeyPath: resolve(pubOut) } : {}) },
      () => `wrote ${path} (mode 0600)\npublic key: ${publicKey}`,
    );
  },
};
