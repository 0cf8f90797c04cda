/** `@memarc/models/node`: what needs Node's file system. Everything else is in `.`, which browsers load. */
export {
  bundledBackboneDir,
  bundledBackbonePath,
  bundledEncoderDir,
  bundledEncoderPath,
  missingBackboneFiles,
} from "./assets.js";
export {
  loadBackboneModel,
  loadBert,
  loadGPT2,
  readArchitecture,
  readConfigJson,
  saveBert,
  saveGPT2,
} from "./hf-dirs.js";
