/**
 * Binary socket.io payloads as bytes: Node delivers a Buffer (a Uint8Array), browsers an
 * ArrayBuffer. Anything else is not binary (null).
 */
export function asBytes(payload: unknown): Uint8Array | null {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  return null;
}
