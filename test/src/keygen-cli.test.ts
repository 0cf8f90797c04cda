import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runMemarc } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-keygen-"));

describe("memarc keygen", () => {
  it("writes a 0600 key file and prints its public key as JSON", async () => {
    const out = join(dir, "node.key");
    const r = await runMemarc(["keygen", "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as { publicKey: string; path: string };
    assert.equal(j.path, out);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const file = JSON.parse(readFileSync(out, "utf8")) as {
      type: string;
      publicKey: string;
      secretKey: string;
    };
    assert.equal(file.type, "memarc-ed25519");
    assert.equal(file.publicKey, j.publicKey);
    // Independent check with node:crypto: the secret key's seed signs, the printed public key verifies.
    const seed = Buffer.from(file.secretKey, "base64").subarray(0, 32);
    const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
    const priv = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    const spki = Buffer.concat([
      Buffer.from("302a300506032b6570032100", "hex"),
      Buffer.from(j.publicKey, "base64"),
    ]);
    const pub = createPublicKey({ key: spki, format: "der", type: "spki" });
    const sig = sign(null, Buffer.from("memarc"), priv);
    assert.ok(verify(null, Buffer.from("memarc"), pub, sig));
  });

  it("refuses to overwrite without --force, replaces with it", async () => {
    const out = join(dir, "twice.key");
    const first = await runMemarc(["keygen", "--out", out, "--json"]);
    const before = readFileSync(out, "utf8");
    const again = await runMemarc(["keygen", "--out", out, "--json"]);
    assert.equal(again.code, 1);
    assert.equal((again.json as { error: { code: string } }).error.code, "E_KEY_FILE");
    assert.match(again.stderr, /--force/);
    assert.equal(readFileSync(out, "utf8"), before);
    chmodSync(out, 0o644);
    const forced = await runMemarc(["keygen", "--out", out, "--force", "--json"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(
      (forced.json as { publicKey: string }).publicKey,
      (first.json as { publicKey: string }).publicKey,
    );
    assert.equal(statSync(out).mode & 0o777, 0o600);
  });

  it("requires --out (usage error, exit 2)", async () => {
    const r = await runMemarc(["keygen", "--json"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out/);
  });
});
