/**
 * windows-1252 code points for bytes 0x80–0x9F (the only range where it differs from
 * ISO-8859-1). Written out because Node 20's TextDecoder maps the "windows-1252"/"latin1" labels
 * to plain ISO-8859-1, which turns smart quotes into C1 control characters. Undefined bytes
 * (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to themselves, as in the WHATWG index.
 */
export const CP1252_HIGH: readonly number[] = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d,
  0x017d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0x9d, 0x017e, 0x0178,
];

/** Decode a byte string as windows-1252. */
export function decodeWindows1252(bytes: string): string {
  return bytes.replace(/[\x80-\x9f]/g, (c) => String.fromCharCode(CP1252_HIGH[c.charCodeAt(0) - 0x80]!));
}
