#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript (npm ci runs `tsc -b` through the root `prepare` script).
import { main } from "../dist/main.js";

const code = await main(process.argv.slice(2));
// Every command has closed what it opened when main resolves, so exit now instead of when the event
// loop drains: Node can deadlock in that drain (NodePlatform::DrainTasks, nodejs/node#54918) and
// leave a finished process hanging. First let stdout and stderr flush (pipes are asynchronous on
// macOS; an empty write's callback runs once everything before it is written).
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((done) => s.write("", done))));
process.exit(code);
