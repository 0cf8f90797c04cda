/** Test support (`@memarc/ops/testing`); the NodePool it runs is `@memarc/federation/testing`'s LogisticPool. */
export { type LogisticRunOptions, logisticCoordinatorRun } from "./coordinator-run.js";
