/** Test support for packages above federation (`@memarc/federation/testing`): a NodePool that really trains. */
export {
  initialLogisticWeights,
  type LogisticNodeSpec,
  LogisticPool,
  logisticTestEvaluator,
} from "./logistic-pool.js";
