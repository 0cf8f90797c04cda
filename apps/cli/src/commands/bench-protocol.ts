import { runProtocolBenchmark } from "@memarc/protocol/node";
import type { Command } from "../cli/command.js";

export const benchProtocolCommand: Command = {
  name: "protocol",
  summary: "seal/open throughput of a 16 MB update vs raw nacl.secretbox, and loopback transfer time",
  details:
    "seal = validate + msgpack encode + SHA-512 + Ed25519 sign + chunk + XSalsa20-Poly1305 per chunk;\n" +
    "open = authenticate/decrypt + reassemble + hash check + decode + validate + verify signature.\n" +
    "ratio = raw seal time / our seal time (raw = one nacl.secretbox call on the same encoded bytes).\n" +
    "transfer16MBMs: the update from a ClientChannel to a ServerChannel over socket.io on 127.0.0.1.",
  options: {
    mb: { type: "string", value: "MB", description: "update size in MiB (default 16)" },
    reps: { type: "string", value: "N", description: "repetitions, median reported (default 3)" },
  },
  async run({ flags, out }) {
    const r = await runProtocolBenchmark({
      mb: flags.int("mb", { min: 1, max: 200 }) ?? 16,
      reps: flags.int("reps", { min: 1, max: 50 }) ?? 3,
      progress: (l) => out.progress(l),
    });
    out.result(r, () =>
      [
        `update: ${(r.bytes / 2 ** 20).toFixed(2)} MiB encoded`,
        `seal   ${r.sealMBps} MB/s   (raw secretbox ${r.rawSecretboxMBps} MB/s, ratio ${r.ratio})`,
        `open   ${r.openMBps} MB/s   (raw open ${r.rawSecretboxOpenMBps} MB/s, ratio ${r.openRatio})`,
        `loopback transfer: ${r.transfer16MBMs} ms (${r.transferMBps} MB/s, ${r.envelopeBytes}-byte envelopes)`,
      ].join("\n"),
    );
  },
};
