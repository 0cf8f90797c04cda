#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript (npm ci runs `tsc -b` through the root `prepare` script).
import { main } from "../dist/main.js";

const code = await main(process.argv.slice(2));
// Every command has closed what it opened when main resolves (and stdout, stderr and the logs are
// written synchronously), so exit now instead of when the event loop drains: Node can deadlock in
// that drain (NodePlatform::DrainTasks, nodejs/node#54918) and leave a finished process hanging.
process.exit(code);
