import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import nacl from "tweetnacl";
import {
  AllowList,
  generateIdentity,
  MAX_NODE_NAME_LENGTH,
  parsePublicKey,
  toBase64,
  tokenProof,
  verifyTokenProof,
} from "./identity.js";
import { loadKeyFile, writeKeyFile } from "./node/identity-files.js";
import { thrownCode } from "./testing/thrown-code.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-keys-"));

describe("identity", () => {
  it("writes a 0600 key file, loads it back, refuses to overwrite unless forced", () => {
    const p = join(dir, "a.key");
    const id = generateIdentity();
    writeKeyFile(p, id);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    const back = loadKeyFile(p);
    assert.deepEqual(back, id);
    const sig = nacl.sign.detached(new Uint8Array([1, 2]), back.secretKey);
    assert.ok(nacl.sign.detached.verify(new Uint8Array([1, 2]), sig, id.publicKey));
    assert.equal(
      thrownCode(() => writeKeyFile(p, generateIdentity())),
      "E_KEY_FILE",
    );
    assert.deepEqual(loadKeyFile(p), id);
    chmodSync(p, 0o644);
    const other = generateIdentity();
    writeKeyFile(p, other, { force: true });
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(loadKeyFile(p).publicKey, other.publicKey);
  });

  it("refuses a key file other users can read, with the fix in the message", () => {
    const p = join(dir, "open.key");
    writeKeyFile(p, generateIdentity());
    chmodSync(p, 0o644);
    assert.throws(
      () => loadKeyFile(p),
      (e: Error & { code: string }) => e.code === "E_KEY_FILE" && /chmod 600/.test(e.message),
    );
  });

  it("refuses corrupt key files", () => {
    const good = JSON.parse(
      readFileSync(
        (() => {
          const p = join(dir, "g.key");
          writeKeyFile(p, generateIdentity());
          return p;
        })(),
        "utf8",
      ),
    );
    const cases: [string, string][] = [
      ["notjson", "{oops"],
      ["array", "[]"],
      ["type", JSON.stringify({ ...good, type: "rsa" })],
      ["short", JSON.stringify({ ...good, secretKey: good.secretKey.slice(0, 40) })],
      ["mismatch", JSON.stringify({ ...good, publicKey: toBase64(generateIdentity().publicKey) })],
    ];
    for (const [name, text] of cases) {
      const p = join(dir, `${name}.key`);
      writeFileSync(p, text, { mode: 0o600 });
      assert.equal(
        thrownCode(() => loadKeyFile(p)),
        "E_KEY_FILE",
        name,
      );
    }
    assert.equal(
      thrownCode(() => loadKeyFile(join(dir, "missing.key"))),
      "E_KEY_FILE",
    );
  });

  it("parses allow-lists (base64 or hex, comments) and reports every bad line by number", () => {
    const a = generateIdentity().publicKey;
    const b = generateIdentity().publicKey;
    const list = AllowList.parse(`# nodes\n${toBase64(a)}  # alice\n\n${Buffer.from(b).toString("hex")}\n`);
    assert.equal(list.size, 2);
    assert.ok(list.has(a) && list.has(b));
    assert.ok(!list.has(generateIdentity().publicKey));
    assert.throws(
      () => AllowList.parse(`${toBase64(a)}\nnot-a-key\n# ok\n${toBase64(a).slice(1)}\n`, "nodes.txt"),
      (e: Error & { code: string }) =>
        e.code === "E_ALLOW_LIST" &&
        /nodes\.txt:2:/.test(e.message) &&
        /nodes\.txt:4:/.test(e.message) &&
        !/:1:/.test(e.message),
    );
    assert.equal(parsePublicKey("zz"), undefined);
  });

  it("takes a node's friendly name from the comment on its allow-list line", () => {
    const [a, b, c] = [generateIdentity(), generateIdentity(), generateIdentity()].map((i) => i.publicKey);
    const list = AllowList.parse(
      [
        "# MemArc allow-list: node public keys", // a comment line names nobody
        `${toBase64(a!)}   #  hospital-a  `,
        `${Buffer.from(b!).toString("hex")}#clinic\tb\u0007`,
        `${toBase64(c!)}`,
        `# ${toBase64(c!)} # commented out: not admitted, not named`,
      ].join("\r\n"),
    );
    assert.equal(list.size, 3);
    assert.equal(list.nameOf(a!), "hospital-a");
    assert.equal(list.nameOf(toBase64(a!)), "hospital-a"); // by node-id string too
    assert.equal(list.nameOf(b!), "clinic b"); // control characters never reach a log or page
    assert.equal(list.nameOf(c!), undefined);
    assert.deepEqual(
      [...list.names],
      [
        [toBase64(a!), "hospital-a"],
        [toBase64(b!), "clinic b"],
      ],
    );
    const long = AllowList.parse(`${toBase64(a!)} # ${"x".repeat(500)}`);
    assert.equal(long.nameOf(a!)?.length, MAX_NODE_NAME_LENGTH);
    // An empty comment is no name.
    assert.equal(AllowList.parse(`${toBase64(a!)} #   `).nameOf(a!), undefined);
  });

  it("replaceWith: the list in force becomes the edited file's, reporting who was added and removed", () => {
    const [a, b, c] = [generateIdentity(), generateIdentity(), generateIdentity()].map((i) => i.publicKey);
    const list = AllowList.parse(`${toBase64(a!)} # alpha\n${toBase64(b!)}\n`);
    const edited = AllowList.parse(`${toBase64(b!)} # bravo\n${toBase64(c!)}\n`);
    assert.deepEqual(list.replaceWith(edited), { added: [toBase64(c!)], removed: [toBase64(a!)] });
    assert.equal(list.has(a!), false);
    assert.equal(list.has(b!), true);
    assert.equal(list.has(c!), true);
    assert.equal(list.size, 2);
    assert.equal(list.nameOf(a!), undefined);
    assert.equal(list.nameOf(b!), "bravo");
    assert.deepEqual(list.replaceWith(edited), { added: [], removed: [] });
  });

  it("token proofs verify only for the same token and transcript", () => {
    const t = nacl.randomBytes(64);
    const proof = tokenProof("correct horse battery staple", t);
    assert.ok(verifyTokenProof("correct horse battery staple", t, proof));
    assert.ok(!verifyTokenProof("correct horse battery stapler", t, proof));
    assert.ok(!verifyTokenProof("correct horse battery staple", nacl.randomBytes(64), proof));
    assert.ok(!verifyTokenProof("correct horse battery staple", t, undefined));
    assert.ok(!verifyTokenProof("correct horse battery staple", t, proof.subarray(1)));
  });
});
