/** `@memarc/federation/node`: the coordinator's state directory and a node's accountant file. Browsers load `.` only. */
export { fileAccountantStore } from "./accountant-store.js";
export { writeFileAtomic } from "./atomic-file.js";
export { StateStore } from "./state-store.js";
