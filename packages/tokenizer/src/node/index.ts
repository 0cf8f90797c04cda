/** `@memarc/tokenizer/node`: what needs Node's file system. Everything else is in `.`, which browsers load. */
export { bpeFromFiles, saveBpe, wordPieceFromFile } from "./files.js";
