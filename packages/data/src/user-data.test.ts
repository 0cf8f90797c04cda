import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseCsv } from "./csv.js";
import { UserDataError } from "./errors.js";
import { loadUserData } from "./node/user-data-file.js";
import { parseUserData, userDataToDataset } from "./user-data.js";

function fails(file: string, content: string, line: number | undefined, problem: RegExp, opts = {}): void {
  assert.throws(
    () => parseUserData(file, content, opts),
    (e: unknown) => {
      assert.ok(e instanceof UserDataError, String(e));
      assert.equal(e.line, line, `${e.message}`);
      assert.match(e.problem, problem);
      assert.ok(e.message.startsWith(`${file}${line === undefined ? "" : `:${line}`}: `), e.message);
      return true;
    },
  );
}

test("CSV: RFC 4180 quoting, escaped quotes, embedded newlines, CRLF, BOM", () => {
  const recs = parseCsv('\ufefftext,label\r\n"hello, ""world""",spam\r\n"two\nlines",ham\nplain,ham\n');
  assert.deepEqual(
    recs.map((r) => [r.fields, r.line]),
    [
      [["text", "label"], 1],
      [['hello, "world"', "spam"], 2],
      [["two\nlines", "ham"], 3],
      [["plain", "ham"], 5],
    ],
  );
  // A CRLF inside quotes is one line break: later records keep their physical line numbers.
  assert.deepEqual(
    parseCsv('a,b\r\n"x\r\ny",2\r\n3,4').map((r) => [r.fields, r.line]),
    [
      [["a", "b"], 1],
      [["x\ny", "2"], 2],
      [["3", "4"], 4],
    ],
  );
  const u = parseUserData("mail.csv", 'id,label,text\n1,spam,"Win money, now"\n2,ham,"Meeting at\n10"\n');
  assert.deepEqual(u.classNames, ["ham", "spam"]);
  assert.deepEqual(
    u.examples.map((e) => [e.id, e.group, e.label, e.text]),
    [
      ["mail.csv:2", "mail", 1, "Win money, now"],
      ["mail.csv:3", "mail", 0, "Meeting at 10"],
    ],
  );
});

test("CSV errors name file, line and problem", () => {
  fails("a.csv", 'text,label\n"open quote,1\nmore\n', 2, /unterminated quoted field/);
  fails("a.csv", 'text,label\nsay "hi",1\n', 2, /quote .* inside an unquoted field/);
  fails("a.csv", 'text,label\n"x"y,1\n', 2, /after closing quote/);
  fails("a.csv", "body,label\nx,1\n", 1, /missing column "text"/);
  fails("a.csv", "text,label\nx,1\ny\n", 3, /expected 2 fields/);
  fails("a.csv", "text,label\n   ,1\n", 2, /empty "text"/);
  fails("a.csv", "text,label\nx,\n", 2, /empty "label"/);
  fails("a.csv", "", 1, /empty file/);
});

test("JSONL: numeric and string labels, label mapping with explicit classes", () => {
  const u = parseUserData("d.jsonl", '{"text":"a","label":1}\n\n{"text":"b","label":0}\n');
  assert.deepEqual(u.classNames, ["0", "1"]);
  assert.deepEqual(
    u.examples.map((e) => [e.id, e.label]),
    [
      ["d.jsonl:1", 1],
      ["d.jsonl:3", 0],
    ],
  );
  const s = parseUserData(
    "d.jsonl",
    '{"text":"a","label":"spam"}\n{"text":"b","label":"ham"}\n{"text":"c","label":"other"}',
  );
  assert.deepEqual(s.classNames, ["ham", "other", "spam"]);
  assert.deepEqual(
    s.examples.map((e) => e.label),
    [2, 0, 1],
  );
  const c = parseUserData("d.jsonl", '{"text":"a","label":"spam"}\n{"text":"b","label":"ham"}', {
    classes: ["spam", "ham"],
  });
  assert.deepEqual(
    c.examples.map((e) => e.label),
    [0, 1],
  );
  const ds = userDataToDataset(s);
  assert.deepEqual(Array.from(ds.labels), [2, 0, 1]);
  assert.equal(ds.numClasses, 3);
});

test("JSONL errors name file, line and problem", () => {
  fails("d.jsonl", '{"text":"a","label":0}\n{"text":"b",label:1}\n', 2, /malformed JSON/);
  fails("d.jsonl", '{"label":0}\n', 1, /missing field "text"/);
  fails("d.jsonl", '{"text":"a"}\n', 1, /missing field "label"/);
  fails("d.jsonl", '{"text":5,"label":0}\n', 1, /"text" must be a string, got number/);
  fails("d.jsonl", '{"text":"a","label":true}\n', 1, /"label" must be a number or a string, got boolean/);
  fails("d.jsonl", '{"text":"a","label":1.5}\n', 1, /integer/);
  fails("d.jsonl", '{"text":"  ","label":0}\n', 1, /empty "text"/);
  fails("d.jsonl", "[1,2]\n", 1, /JSON object/);
  fails("d.jsonl", '{"text":"a","label":0}\n{"text":"b","label":"spam"}\n', 2, /mix numbers and class names/);
  fails("d.jsonl", '{"text":"a","label":"spam"}\n{"text":"b","label":"eggs"}\n', 2, /unknown label "eggs"/, {
    classes: ["ham", "spam"],
  });
  fails("d.jsonl", '{"text":"a","label":"spam"}\n{"text":"b","label":"spam"}\n', undefined, /only one class/);
  fails("d.jsonl", '{"text":"aaaaaaaaaa","label":0}\n', 1, /11|10 characters, more than the limit of 5/, {
    maxTextChars: 5,
  });
  fails("d.txt", "x", undefined, /unknown file type/);
  fails("d.jsonl", '{"text":"a","label":0}\n{"text":"b","label":5000}\n', 2, /too large/);
});

test("loadUserData reads files, enforces the size limit and reports I/O errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "memarc-data-"));
  const f = join(dir, "mine.jsonl");
  writeFileSync(f, '{"text":"Hello   there\\n friend","label":"ham"}\n{"text":"Buy now","label":"spam"}\n');
  const u = loadUserData(f, { maxChars: 8 });
  assert.equal(u.name, "mine");
  assert.deepEqual(
    u.examples.map((e) => [e.body, e.text]),
    [
      ["Hello there friend", "Hello th"],
      ["Buy now", "Buy now"],
    ],
  );
  assert.throws(
    () => loadUserData(f, { maxFileBytes: 10 }),
    (e: unknown) => e instanceof UserDataError && e.code === "E_DATA_LIMIT" && /limit of 10/.test(e.message),
  );
  assert.throws(
    () => loadUserData(join(dir, "missing.csv")),
    (e: unknown) => e instanceof UserDataError && e.code === "E_DATA_IO",
  );
});

test("labelsOptional: records without labels (JSONL, CSV) get -1; a file mixing both is refused", () => {
  const classes = ["ham", "spam"];
  const j = parseUserData("inbox.jsonl", '{"text":"a"}\n{"text":"b"}\n', { labelsOptional: true, classes });
  assert.deepEqual(
    j.examples.map((e) => e.label),
    [-1, -1],
  );
  assert.deepEqual(j.classNames, classes);
  const c = parseUserData("inbox.csv", "text\nhello\nworld\n", { labelsOptional: true });
  assert.equal(c.examples.length, 2);
  assert.equal(c.examples[1]!.label, -1);
  assert.throws(
    () =>
      parseUserData("mixed.jsonl", '{"text":"a","label":"spam"}\n{"text":"b"}\n', {
        labelsOptional: true,
        classes,
      }),
    (e: unknown) => e instanceof UserDataError && /every record a label, or none/.test(e.message),
  );
  // Without the option a missing label is still an error.
  assert.throws(() => parseUserData("x.jsonl", '{"text":"a"}\n'), /missing field "label"/);
});
