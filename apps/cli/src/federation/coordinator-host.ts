/**
 * Everything `memarc coordinator` (and `simulate`) runs in one process: the secure socket server,
 * the round loop with its ledger and durable state, the coordinator's own test-set evaluation, and
 * the live dashboard with Prometheus metrics.
 */
import {
  accountantFactory,
  Coordinator,
  type CoordinatorEvent,
  PrivacyLedger,
  type RunSummary,
  SocketNodePool,
  safetensorsWeightsCodec,
} from "@memarc/federation";
import { StateStore } from "@memarc/federation/node";
import { type MemarcLogger, monitoredPool, RunMonitor, startDashboard, toEventLogger } from "@memarc/ops";
import { type AllowList, type Identity, nodeIdString } from "@memarc/protocol";
import { ServerChannel } from "@memarc/protocol/node";
import { createScheme, type FinetuneScheme, type LabelledTexts } from "@memarc/train";
import { loadBackbone, saveModelDir } from "@memarc/train/node";
import { frozenEngineFor } from "../cli/frozen.js";
import { browserNodePages } from "../web/browser-nodes.js";
import { LatePool } from "./late-pool.js";
import {
  buildServerOptimizer,
  buildStrategy,
  planFingerprint,
  type RunPlan,
  trainingSettings,
} from "./run-plan.js";

export interface CoordinatorHostOptions {
  plan: RunPlan;
  /** Backbone directory (transformer schemes). */
  modelDir: string | null;
  numClasses: number;
  identity: Identity;
  allowList?: AllowList;
  openEnrolment?: boolean;
  joinToken?: string;
  tls?: { cert: string; key: string };
  host: string;
  port: number;
  stateDir: string;
  resume: boolean;
  minNodes: number;
  waitForNodesMs: number;
  roundTimeoutMs: number;
  testData: LabelledTexts | null;
  featureCacheDir?: string;
  dashboard: { host: string; port: number; token?: string | undefined } | null;
  /** Serve the browser node page under /node/ on the dashboard port, with these class names. */
  browserNodes?: { classNames: string[] };
  /** Open connections one address may hold on the node port (nodes behind one NAT share one). */
  maxConnectionsPerAddress?: number;
  /** Export the global model here after every round (a model directory for predict / eval). */
  modelOut?: { dir: string; classNames: string[] };
  /** One-off preparation messages (which frozen-pass engine runs) and feature progress. */
  log?: (line: string) => void;
  onPrepare?: (done: number, total: number) => void;
  logger: MemarcLogger;
  onEvent?: (e: CoordinatorEvent) => void;
}

export interface CoordinatorHost {
  url: string;
  publicKey: string;
  dashboardUrl: string | null;
  serverNoise: number | null;
  /** Engine of the coordinator's frozen passes (side): "onnx" | "tfjs"; null when none ran. */
  frozenEngine: string | null;
  monitor: RunMonitor;
  run(): Promise<RunSummary>;
  close(): Promise<void>;
}

/**
 * Order matters: everything that can fail — flags, state, ledger, weights, the test set — is
 * checked BEFORE any port opens, then the dashboard, then the node port. A failure after a server
 * started closes it again, so the process never keeps answering while it cannot run.
 */
export async function startCoordinatorHost(o: CoordinatorHostOptions): Promise<CoordinatorHost> {
  const { plan } = o;
  if (plan.scheme === "logreg" && !o.testData) {
    throw Object.assign(
      new Error("--scheme logreg needs --test-data (its parameter shapes come from binding data)"),
      { code: "E_USAGE" },
    );
  }
  if (o.allowList && o.allowList.size === 0 && !o.openEnrolment)
    throw Object.assign(new Error("--allow: the allow-list holds no node keys; no node could join"), {
      code: "E_USAGE",
    });
  const backbone = plan.scheme === "logreg" || !o.modelDir ? null : await loadBackbone(o.modelDir);
  const scheme: FinetuneScheme = createScheme(plan.scheme, backbone, { numClasses: o.numClasses, seed: 1 });
  const bind = {
    contextLength: plan.contextLength,
    ...(o.featureCacheDir ? { featureCacheDir: o.featureCacheDir } : {}),
  };
  if (o.testData && plan.scheme === "logreg") scheme.bind(o.testData.texts, o.testData.labels, bind);
  const initialWeights = scheme.exportTrainable();
  const shapes = Object.fromEntries([...scheme.params].map(([k, v]) => [k, v.shape]));

  const { strategy, serverNoise } = buildStrategy(plan);
  const monitor = new RunMonitor(
    {
      scheme: plan.scheme,
      roundsPlanned: plan.rounds,
      privacyUnit: plan.privacyUnit,
      budget: { epsilon: plan.epsilon, delta: plan.delta },
      strategy: strategy.name,
      minNodes: o.minNodes,
    },
    {
      // The operator's labels from the allow-list comments, for the dashboard's node list.
      ...(o.allowList ? { nodeNames: o.allowList.names } : {}),
    },
  );
  // State, ledger and weights are validated here (resume), before the slow preparation below.
  const store = new StateStore(o.stateDir, safetensorsWeightsCodec);
  const factory = accountantFactory("rdp");
  const ledger =
    o.resume && store.exists()
      ? PrivacyLedger.fromJSON(factory, store.load().state.ledger)
      : new PrivacyLedger(factory);
  let evaluateTest: (() => { accuracy: number; loss: number }) | null = null;
  let frozenEngine: string | null = null;
  const pool = new LatePool();
  const coordinator = new Coordinator(
    {
      rounds: plan.rounds,
      minNodes: o.minNodes,
      waitForNodesMs: o.waitForNodesMs,
      roundTimeoutMs: o.roundTimeoutMs,
      evaluateEvery: plan.evaluateEvery,
      federatedEvaluation: plan.federatedEvaluation,
      budget: { epsilon: plan.epsilon, delta: plan.delta },
      governs: plan.privacyUnit,
      training: trainingSettings(plan),
      fingerprint: planFingerprint(plan, o.modelDir ?? "none"),
      ...(o.testData
        ? {
            evaluateGlobal: async (w: Record<string, Float32Array>) => {
              scheme.importTrainable(w);
              const e = evaluateTest!();
              return { accuracy: e.accuracy, loss: e.loss };
            },
          }
        : {}),
    },
    {
      strategy,
      optimizer: buildServerOptimizer(plan),
      ledger,
      store,
      pool: monitoredPool(pool, monitor),
      initialWeights,
      onEvent: (e) => {
        monitor.onEvent(e);
        o.onEvent?.(e);
      },
      ...(o.modelOut ? { onRoundSaved: modelExporter(o, scheme, strategy.name) } : {}),
    },
    { resume: o.resume },
  );
  if (o.resume) monitor.restore(coordinator.currentState.history, coordinator.currentState.nodes);
  // The test set is evaluated after every round: prepare it once (for side, its backbone features).
  if (o.testData) {
    // Side: the test set's frozen features on the fastest engine (ONNX Runtime, all cores) — before
    // the node port opens, so the nodes' own passes do not compete with it.
    const frozen =
      (plan.scheme === "side" || plan.scheme === "probe") && backbone
        ? (await frozenEngineFor(backbone, { ...(o.log ? { log: o.log } : {}) })).engine
        : undefined;
    frozenEngine = frozen?.name ?? null;
    const prep = {
      ...bind,
      ...(frozen ? { frozen } : {}),
      ...(o.onPrepare ? { onPrepare: o.onPrepare } : {}),
    };
    await scheme.prepare(o.testData.texts, o.testData.labels, prep);
    evaluateTest = scheme.prepareEvaluation(o.testData.texts, o.testData.labels, prep);
  }

  let server: ServerChannel | undefined;
  const pages = o.browserNodes
    ? await browserNodePages({
        info: {
          version: 1,
          coordinatorKey: nodeIdString(o.identity.publicKey),
          scheme: plan.scheme,
          privacyUnit: plan.privacyUnit,
          epsilon: plan.epsilon,
          delta: plan.delta,
          rounds: plan.rounds,
          contextLength: plan.contextLength,
          classNames: o.browserNodes.classNames,
          enrolment: o.openEnrolment ? "token" : "allow-list",
          model: null,
        },
        modelDir: plan.scheme === "logreg" ? null : o.modelDir,
        tls: !!o.tls,
        nodePort: () => server?.port ?? null,
      })
    : undefined;
  const dashboard = o.dashboard
    ? await startLabelled("--dashboard-port", () =>
        startDashboard({
          monitor,
          host: o.dashboard!.host,
          port: o.dashboard!.port,
          ...(o.dashboard!.token ? { token: o.dashboard!.token } : {}),
          ...(pages ? { pages } : {}),
        }),
      )
    : null;
  try {
    server = await startLabelled("--port", () =>
      ServerChannel.listen({
        identity: o.identity,
        ...(o.allowList ? { allowList: o.allowList } : {}),
        ...(o.openEnrolment ? { openEnrolment: true, joinToken: o.joinToken } : {}),
        ...(o.tls ? { tls: o.tls } : {}),
        host: o.host,
        port: o.port,
        ...(o.maxConnectionsPerAddress
          ? { http: { maxConnectionsPerAddress: o.maxConnectionsPerAddress } }
          : {}),
        logger: toEventLogger(o.logger),
      }),
    );
  } catch (err) {
    await dashboard?.close();
    scheme.dispose();
    throw err;
  }
  server.on("refused", (r: { nodeId?: string; error: { code: string } }) =>
    monitor.rejected(r.error.code, r.nodeId),
  );
  pool.attach(
    new SocketNodePool(server!, shapes, plan.delta, {
      connected: (id) => monitor.nodeConnected(id),
      disconnected: (id) => monitor.nodeDisconnected(id),
      bytesIn: (n) => monitor.bytesIn(n),
      bytesOut: (n) => monitor.bytesOut(n),
    }),
  );

  return {
    url: server.url,
    publicKey: nodeIdString(o.identity.publicKey),
    dashboardUrl: dashboard?.url ?? null,
    serverNoise,
    frozenEngine,
    monitor,
    run: () => coordinator.run(),
    async close() {
      await dashboard?.close();
      await server.close();
      scheme.dispose();
    },
  };
}

/** Writes the global model to `o.modelOut` after each round, with the ε spent on the governed unit. */
function modelExporter(o: CoordinatorHostOptions, scheme: FinetuneScheme, strategy: string) {
  const { plan } = o;
  const out = o.modelOut!;
  return (round: number, weights: Record<string, Float32Array>, eps: RunSummary["epsilon"]) => {
    scheme.importTrainable(weights);
    const spent = plan.privacyUnit === "user" ? eps.user : eps.example;
    saveModelDir(out.dir, {
      scheme,
      schemeOptions: {},
      classNames: out.classNames,
      contextLength: plan.scheme === "logreg" ? null : plan.contextLength,
      backboneDir: o.modelDir,
      privacy:
        spent === null
          ? null
          : {
              epsilon: spent,
              delta: plan.delta,
              unit: plan.privacyUnit,
              accountant: "rdp",
              federated: { rounds: round, strategy },
            },
      createdBy: `memarc ${process.argv.slice(2).join(" ")}`,
    });
  };
}

/** Start a server; a port already in use is reported against the flag that chose it. */
async function startLabelled<T>(flag: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE" || e.code === "EACCES")
      throw Object.assign(new Error(`${flag}: cannot listen (${e.code}): ${e.message}`), { code: "E_USAGE" });
    throw err;
  }
}
