/**
 * The one seeded uniform generator for test data (mulberry32). It lives in the tokenizer because
 * that is the lowest package its users (tokenizer, train, federation test helpers) all build on.
 * FOR TESTS ONLY — NOT PRIVATE: never use it for noise or sampling in training.
 */
export function insecureSeededUniformForTests(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
