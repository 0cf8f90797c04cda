/** Test support for packages that build on the protocol: a hostile client, message fixtures, error codes. */

// The session's envelope cipher is not API; tests that check what crosses the wire seal and open with it.
export { DIRECTION_COORDINATOR_TO_NODE, DIRECTION_NODE_TO_COORDINATOR, SessionCipher } from "../envelope.js";
export * as fixtures from "./fixtures.js";
export { RogueClient, type RogueOptions, TEST_CAPABILITIES } from "./rogue-client.js";
export { thrownCode } from "./thrown-code.js";
