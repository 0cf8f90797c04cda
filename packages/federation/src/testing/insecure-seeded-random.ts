/**
 * A reproducible MechanismRandom for TESTS ONLY: mulberry32 + Box–Muller. Not a CSPRNG; never use
 * it for a real mechanism (the coordinator wires @memarc/privacy's secure sampler).
 */
import type { MechanismRandom } from "../strategy/types.js";

export function insecureSeededRandomForTests(seed: number): MechanismRandom {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gaussian = (std: number) => {
    const u = 1 - uniform();
    return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return {
    uniform,
    gaussian,
    addGaussian(target, std) {
      for (let i = 0; i < target.length; i++) target[i] = target[i]! + gaussian(std);
    },
  };
}
