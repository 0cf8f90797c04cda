/**
 * What data a node trains on: a bundled dataset partition (`spam-assassin:iid:0/3`,
 * `spam-assassin:dirichlet:0.5:1/4`, `spam-assassin:natural:2/5`) or a user's own JSONL/CSV file of
 * {text, label} records. A stratified slice of the node's data is held out for federated evaluation.
 */
import { MIN_NODE_EXAMPLES, partition, userDataToDataset } from "@memarc/data";
import { datasetByName, loadUserData } from "@memarc/data/node";
import { HELD_OUT_FRACTION } from "@memarc/federation";
import { holdoutSplit, type LabelledTexts } from "@memarc/train";
import { UsageError } from "../cli/errors.js";

export interface NodeData {
  name: string;
  train: LabelledTexts;
  heldOut: LabelledTexts;
  numClasses: number;
}

export interface DataSpecOptions {
  /** Fraction of the node's data held out for federated evaluation (default HELD_OUT_FRACTION). */
  heldOutFraction?: number;
  /** Partition seed; every node of a run must use the same one (default 42). */
  seed?: number;
}

const BUNDLED = /^([a-z0-9-]+):(iid|natural|dirichlet:[0-9.eE+-]+):(\d+)\/(\d+)$/;

export function parseBundledSpec(
  spec: string,
): { dataset: string; partition: string; index: number; count: number } | null {
  const m = BUNDLED.exec(spec);
  if (!m) return null;
  const index = Number(m[3]);
  const count = Number(m[4]);
  if (!(count >= 1) || index >= count)
    throw new UsageError(`--data ${spec}: partition index must be in [0, ${count - 1}]`);
  return { dataset: m[1]!, partition: m[2]!, index, count };
}

export function loadNodeData(spec: string, o: DataSpecOptions = {}): NodeData {
  const fraction = o.heldOutFraction ?? HELD_OUT_FRACTION;
  const bundled = parseBundledSpec(spec);
  let name: string;
  let all: LabelledTexts;
  let numClasses: number;
  if (bundled) {
    const d = datasetByName(bundled.dataset).load();
    const parts = partition(bundled.partition, d.train, bundled.count, { seed: o.seed ?? 42 });
    const idx = parts[bundled.index]!;
    all = {
      texts: idx.map((i) => d.train.texts[i]!),
      labels: Int32Array.from(idx, (i) => d.train.labels[i]!),
    };
    numClasses = d.train.numClasses;
    name = spec;
  } else if (/\.(jsonl|csv)$/i.test(spec)) {
    const ds = userDataToDataset(loadUserData(spec));
    all = { texts: ds.texts, labels: ds.labels };
    numClasses = ds.numClasses;
    name = ds.name;
  } else {
    throw new UsageError(
      `--data ${spec}: expected <dataset>:<iid|natural|dirichlet:α>:<i>/<n> (e.g. spam-assassin:iid:0/3) or a .jsonl/.csv file`,
    );
  }
  return nodeDataFrom(name, all, numClasses, { heldOutFraction: fraction });
}

/** A node's examples → its training part and the stratified part held out for federated evaluation. */
export function nodeDataFrom(
  name: string,
  all: LabelledTexts,
  numClasses: number,
  o: { heldOutFraction?: number } = {},
): NodeData {
  if (all.labels.length < MIN_NODE_EXAMPLES)
    throw new UsageError(
      `--data ${name}: only ${all.labels.length} examples; a node needs at least ${MIN_NODE_EXAMPLES}`,
    );
  const { train, holdout } = holdoutSplit(all, o.heldOutFraction ?? HELD_OUT_FRACTION);
  return { name, train, heldOut: holdout, numClasses };
}
