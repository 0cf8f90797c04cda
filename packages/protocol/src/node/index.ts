/** `@memarc/protocol/node`: the coordinator's listener, key and allow-list files, TLS probe, bench. Browsers load `.` only. */
export { type ProtocolBenchResult, rawSecretboxBytesPerSecond, runProtocolBenchmark } from "../bench.js";
export {
  type HttpHygiene,
  type RefusalInfo,
  ServerChannel,
  type ServerChannelOptions,
} from "../server-channel.js";
export { plainAgainstTls } from "../tls-probe.js";
export { loadAllowList, loadKeyFile, writeKeyFile } from "./identity-files.js";
