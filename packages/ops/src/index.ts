export {
  type Dashboard,
  type DashboardOptions,
  DashboardSecurityError,
  type PageAsset,
  startDashboard,
} from "./dashboard/server.js";
export {
  type CreateLoggerOptions,
  createLogger,
  defaultLogFormat,
  type EventLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  LogLevelError,
  type MemarcLogger,
  toEventLogger,
} from "./logger.js";
export { RunMetrics } from "./metrics.js";
export {
  type NodeSummary,
  type RoundSummary,
  RunMonitor,
  type RunMonitorOptions,
  type RunPhase,
  type RunSettings,
  type RunSnapshot,
  type SnapshotListener,
} from "./monitor.js";
export { monitoredPool } from "./pool.js";
