/**
 * feature-cache.ts in a browser (the package's "browser" map). The side-feature cache lives on disk,
 * which a page does not have; a backbone built from fetched bytes has no directory, so schemes.ts
 * never calls these there and keeps features in memory. Reaching one is a programming error.
 */
import type { BackboneConfig, SideScheme } from "@memarc/models";
import type { FeatureCache } from "../scheme-model.js";
import type { TokenizedDataset } from "../tokenized.js";
import type { FrozenPass } from "./frozen-pass.js";

function noDisk(): never {
  throw Object.assign(
    new Error("the side-feature disk cache needs Node's file system (not available in a browser)"),
    {
      code: "E_PLATFORM",
    },
  );
}

export function backboneWeightsFile(_dir: string): string {
  return noDisk();
}

export function weightsDigest(_file: string): Uint8Array {
  return noDisk();
}

export function featureCacheKey(
  _weightsFile: string,
  _config: BackboneConfig,
  _data: TokenizedDataset,
): string {
  return noDisk();
}

export function loadOrComputeFeatures(
  _scheme: SideScheme,
  _data: TokenizedDataset,
  _dir: string,
  _weightsFile: string,
): FeatureCache {
  return noDisk();
}

export async function loadOrComputeFeaturesWith(
  _engine: FrozenPass,
  _scheme: SideScheme,
  _data: TokenizedDataset,
  _o: { dir?: string; weightsFile: string },
): Promise<{ key: string; cache: FeatureCache }> {
  return noDisk();
}
