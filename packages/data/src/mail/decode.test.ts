import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanBody, normalizeText, shortenUrls, stripNoise, truncate } from "./clean.js";
import { composeText, decodeEmail } from "./decode.js";
import { decodeHeaderValue, decodeQuotedPrintable } from "./encodings.js";
import { decodeEntities, htmlToText } from "./html.js";
import { ProblemLog } from "./problems.js";

const b64 = (s: string, enc: BufferEncoding = "utf8") =>
  Buffer.from(s, enc).toString("base64").replace(/.{60}/g, "$&\n");

test("headers: folded subject, CRLF, mbox From line, body split", () => {
  const raw =
    "From someone  Mon Jan 1\r\nSubject: a long\r\n  folded subject\r\nX-Other: y\r\n\r\nHello body.\r\n";
  const m = decodeEmail(raw);
  assert.equal(m.subject, "a long folded subject");
  assert.equal(m.body, "Hello body.");
  assert.deepEqual(m.problems, []);
});

test("encoded-words: B and Q, utf-8 and latin1, adjacent words joined, split multibyte char", () => {
  const log = new ProblemLog();
  assert.equal(decodeHeaderValue("=?utf-8?B?w7xiZXI=?= alles", undefined, log), "über alles");
  assert.equal(decodeHeaderValue("=?ISO-8859-1?Q?Caf=E9_cr=E8me?=", undefined, log), "Café crème");
  // RFC 2047 §8: whitespace between adjacent encoded-words disappears.
  assert.equal(decodeHeaderValue("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", undefined, log), "ab");
  assert.equal(decodeHeaderValue("(=?ISO-8859-1?Q?a?= b)", undefined, log), "(a b)");
  // "€" (E2 82 AC) split across two encoded words.
  assert.equal(decodeHeaderValue("=?utf-8?Q?=E2=82?= =?utf-8?Q?=AC_5?=", undefined, log), "€ 5");
  assert.equal(decodeHeaderValue("=?gb2312?B?1tDOxA==?=", undefined, log), "中文");
  assert.deepEqual(log.list, []);
  decodeHeaderValue("=?utf-8?X?abc?=", undefined, log);
  assert.deepEqual(log.list, ["bad-encoded-word"]);
});

test("quoted-printable: soft breaks, =XX, trailing spaces, bad escapes kept and reported", () => {
  const log = new ProblemLog();
  assert.equal(decodeQuotedPrintable("caf=C3=A9 =3D x=\nyz  \nnext", log), "caf\xc3\xa9 = xyz\nnext");
  assert.deepEqual(log.list, []);
  assert.equal(decodeQuotedPrintable("100% = sure=", log), "100% = sure=");
  assert.deepEqual(log.list, ["bad-quoted-printable"]);
});

test("single part base64 utf-8 and quoted-printable latin1", () => {
  const a = decodeEmail(
    `Subject: t\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n${b64("Grüße aus Köln, mit Käse.")}\n`,
  );
  assert.equal(a.body, "Grüße aus Köln, mit Käse.");
  assert.equal(a.counts.base64, 1);
  const q = decodeEmail(
    'Subject: t\nContent-Type: text/plain; charset="iso-8859-1"\nContent-Transfer-Encoding: quoted-printable\n\nna=EFve fa=E7ade =3D soft=\nbreak\n',
  );
  assert.equal(q.body, "naïve façade = softbreak");
  const u = decodeEmail("Subject: t\nContent-Type: text/plain; charset=us-ascii\n\nplain ascii");
  assert.equal(u.body, "plain ascii");
});

test("charset: latin1 8bit bytes, utf-8 lie detection, invalid utf-8, unknown charset", () => {
  const latin = Buffer.from(
    "Subject: x\nContent-Type: text/plain; charset=iso-8859-1\n\nd\xe9j\xe0 vu \x93quoted\x94",
    "latin1",
  );
  assert.equal(decodeEmail(latin).body, "déjà vu “quoted”");
  // Declared latin1 but bytes are valid UTF-8 multi-byte sequences: decoded as UTF-8.
  const lie = Buffer.concat([
    Buffer.from("Subject: x\nContent-Type: text/plain; charset=iso-8859-1\n\n"),
    Buffer.from("déjà vu"),
  ]);
  assert.equal(decodeEmail(lie).body, "déjà vu");
  const bad = decodeEmail(
    Buffer.from("Subject: x\nContent-Type: text/plain; charset=utf-8\n\nd\xe9j\xe0", "latin1"),
  );
  assert.equal(bad.body, "déjà");
  assert.ok(bad.problems.includes("invalid-utf8"));
  const unk = decodeEmail(
    Buffer.from("Subject: x\nContent-Type: text/plain; charset=x-martian\n\nna\xefve", "latin1"),
  );
  assert.equal(unk.body, "naïve");
  assert.ok(unk.problems.includes("unknown-charset"));
  const koi = decodeEmail(
    Buffer.from("Subject: x\nContent-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4", "latin1"),
  );
  assert.equal(koi.body, "Привет");
});

test("multipart/alternative prefers text/plain; placeholder plain loses to HTML", () => {
  const msg = (plain: string) =>
    [
      "Subject: alt",
      'Content-Type: multipart/alternative; boundary="XX"',
      "",
      "preamble ignored",
      "--XX",
      "Content-Type: text/plain",
      "",
      plain,
      "--XX",
      "Content-Type: text/html",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "<html><body><p style=3D'x'>The <b>HTML</b> version of the message text, which is long enough to count as the real content.</p></body></html>",
      "--XX--",
      "epilogue ignored",
    ].join("\n");
  const a = decodeEmail(msg("The plain version."));
  assert.equal(a.body, "The plain version.");
  assert.equal(a.fromHtml, false);
  const b = decodeEmail(msg("see html"));
  assert.ok(!b.problems.includes("bad-quoted-printable"));
  assert.equal(
    b.body,
    "The HTML version of the message text, which is long enough to count as the real content.",
  );
  assert.equal(b.fromHtml, true);
});

test("nested multipart with prefix boundaries, attachments and images skipped, base64 html", () => {
  const html =
    "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>Buy <i>now</i>&nbsp;&amp; save &#36;5 &#x2014; &eacute;t&eacute;</body></html>";
  const raw = [
    "Subject: nested",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    'Content-Type: multipart/alternative; boundary="b1AA"',
    "",
    "--b1AA",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    b64(html),
    "--b1AA--",
    "--b1",
    "Content-Type: image/gif",
    "Content-Transfer-Encoding: base64",
    "",
    "R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=",
    "--b1",
    "Content-Type: text/plain",
    'Content-Disposition: attachment; filename="secret.txt"',
    "",
    "attachment text must not appear",
    "--b1--",
  ].join("\n");
  const m = decodeEmail(raw);
  assert.equal(m.body, "Buy now & save $5 — été");
  assert.equal(m.counts.skipped, 2);
  assert.equal(m.counts.multipart, 2);
  assert.deepEqual(m.problems, []);
});

test("malformed messages never throw and report problems", () => {
  const cases: [string, string][] = [
    ["no headers at all, just text", "no-headers"],
    ["Subject: only headers\nX: y", "no-header-end"],
    [
      "Subject: x\nContent-Type: multipart/mixed\n\n--zz\nContent-Type: text/plain\n\nguessed\n--zz--",
      "missing-boundary",
    ],
    [
      'Subject: x\nContent-Type: multipart/mixed; boundary="nope"\n\nbody without delimiters',
      "boundary-not-found",
    ],
    [
      'Subject: x\nContent-Type: multipart/mixed; boundary="q"\n\n--q\n\nunterminated part',
      "unterminated-multipart",
    ],
    ["Subject: x\nContent-Transfer-Encoding: base64\n\n!!not*base64!!", "bad-base64"],
    ["Subject: x\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 f\nend", "unknown-transfer-encoding"],
    ["Subject: x\n\n<html><body><p>hi</p><br><br><br><br></body></html>", "html-in-plain"],
    ["Subject: x\n\n<p>a=3Db</p> =3D =3D =3D", "undeclared-quoted-printable"],
    [
      "Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
      "binary-content",
    ],
    ["", "empty-body"],
  ];
  for (const [raw, problem] of cases) {
    const m = decodeEmail(raw);
    assert.ok(
      m.problems.includes(problem as never),
      `${problem} not in ${m.problems} for ${JSON.stringify(raw)}`,
    );
  }
  assert.equal(
    decodeEmail(
      "Subject: x\nContent-Type: multipart/mixed\n\n--zz\nContent-Type: text/plain\n\nguessed\n--zz--",
    ).body,
    "guessed",
  );
  // Deep nesting hits the depth limit instead of recursing forever.
  let deep = "deepest";
  for (let i = 0; i < 20; i++)
    deep = `Content-Type: multipart/mixed; boundary="d${i}"\n\n--d${i}\n${deep}\n--d${i}--`;
  assert.ok(decodeEmail(`Subject: x\n${deep}`).problems.includes("depth-limit"));
  // Random garbage must not throw.
  for (let s = 0; s < 200; s++) {
    const bytes = Buffer.alloc(300);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + s * 104729) % 251;
    decodeEmail(Buffer.concat([Buffer.from('Content-Type: multipart/mixed; boundary="a"\n\n--a\n'), bytes]));
  }
});

test("html to text: entities, hidden comments, block vs inline tags, image-only falls back to link hosts", () => {
  assert.equal(
    decodeEntities("&lt;a&gt; &quot;x&quot; &#169;&#xE9; &copy2002 AT&Tnews &#150; &bogus;"),
    '<a> "x" ©é ©2002 AT&Tnews – &bogus;',
  );
  assert.equal(htmlToText("V<!-- x -->iag<b></b>ra<br>next<p>para</p>"), "Viagra\nnext\npara");
  assert.equal(htmlToText('<a href="http://www.spam.example/x"><img src="a.gif"></a>'), "spam.example");
  assert.equal(htmlToText('<img src="a.gif" alt="Cheap meds">'), "Cheap meds");
});

test("cleaning for a 128-token model: quotes, attribution, signature, list footer, PGP, URLs", () => {
  const body = [
    "-----BEGIN PGP SIGNED MESSAGE-----",
    "Hash: SHA1",
    "",
    "On Mon, Bob wrote:",
    "> quoted line one",
    "> quoted line two",
    "My answer, see http://www.example.org/path?q=1 and https://user@cvs.sf.net:8080/x .",
    "-----BEGIN PGP SIGNATURE-----",
    "iD8DBQE9abc",
    "-----END PGP SIGNATURE-----",
    "_______________________________________________",
    "Foo-users mailing list",
    "https://lists.example/listinfo/foo",
  ].join("\n");
  assert.equal(cleanBody(body), "My answer, see example.org and cvs.sf.net .");
  assert.equal(stripNoise("text\n-- \nJohn Doe\nACME"), "text");
  assert.equal(stripNoise("> all quoted\n> spam"), "all quoted\nspam");
  assert.equal(shortenUrls("go to www.Foo.com/now!"), "go to foo.com");
  assert.equal(normalizeText("ＦＲＥＥ!!!!!!!   money\u200b\n\n now"), "FREE!!! money now");
  assert.equal(truncate("aaaa bbbb cccc", 11), "aaaa bbbb");
  assert.equal(composeText("Subj", "body text here", 9), "Subj\nbody");
});
