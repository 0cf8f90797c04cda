/**
 * GPT-2's reversible byte <-> unicode-character table.
 *
 * BPE vocabularies are stored as text, so each of the 256 byte values needs a printable character.
 * Bytes that are already printable and non-space (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) map to themselves;
 * the remaining 68 bytes (controls, space, NBSP, soft hyphen) are shifted to U+0100.. in byte order.
 * That is why a leading space shows up as `Ġ` (U+0120) in GPT-2's vocab.
 */

function buildTables(): { byteToChar: string[]; charToByte: Map<string, number>; order: number[] } {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const isPrintable = new Set(printable);
  const byteToChar = new Array<string>(256);
  // `order` is the byte order in which GPT-2 assigned ids 0..255 (printable ones first).
  const order = [...printable];
  for (const b of printable) byteToChar[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (isPrintable.has(b)) continue;
    byteToChar[b] = String.fromCharCode(256 + n);
    order.push(b);
    n++;
  }
  const charToByte = new Map<string, number>();
  for (let b = 0; b < 256; b++) charToByte.set(byteToChar[b]!, b);
  return { byteToChar, charToByte, order };
}

const tables = buildTables();

/** `BYTE_TO_CHAR[b]` is the single character that stands for byte `b` in vocab/merges files. */
export const BYTE_TO_CHAR: readonly string[] = tables.byteToChar;
/** Inverse of {@link BYTE_TO_CHAR}. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = tables.charToByte;
/** Bytes in the order GPT-2 gave them ids 0..255 (`GPT2_BYTE_ORDER[id] = byte`). */
export const GPT2_BYTE_ORDER: readonly number[] = tables.order;

/** Bytes -> vocab string (e.g. [0x20, 0x74] -> "Ġt"). */
export function bytesToToken(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]!]!;
  return s;
}

/** Vocab string -> bytes; `undefined` if some character is not one of the 256 byte characters. */
export function tokenToBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token[i]!);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}
