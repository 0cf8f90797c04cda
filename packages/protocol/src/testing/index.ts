/** Test support for packages that build on the protocol: a hostile client and message fixtures. */
export * as fixtures from "./fixtures.js";
export { RogueClient, type RogueOptions, TEST_CAPABILITIES } from "./rogue-client.js";
