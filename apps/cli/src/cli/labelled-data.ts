/**
 * What `finetune` and `simulate` train and test on: a bundled dataset by name, or the user's own
 * JSONL/CSV file of {text, label} records (multi-class labels included) with the same validation a
 * `client --data` file gets. A file is split into train and test — stratified by label, with a fixed
 * seed, like the bundled dataset's own split — unless `--test-data FILE` gives the test set.
 */
import { type Dataset, stratifiedSplit, userDataToDataset } from "@memarc/data";
import { datasetByName, datasetNames, loadUserData } from "@memarc/data/node";
import type { OptionSpec } from "./command.js";
import { UsageError } from "./errors.js";
import type { Flags } from "./flags.js";
import { didYouMean } from "./suggest.js";

export interface TrainTestData {
  /** The dataset's name or the file's path. */
  name: string;
  train: Dataset;
  test: Dataset;
  classNames: string[];
}

export const TEST_FRACTION = 0.2;

export const LABELLED_DATA_OPTIONS: Record<string, OptionSpec> = {
  data: {
    type: "string",
    value: "NAME|FILE",
    description: `a bundled dataset (${datasetNames().join(", ")}) or your own .jsonl/.csv file of {text, label} records`,
  },
  "test-data": {
    type: "string",
    value: "FILE",
    description: "with --data FILE: test on this .jsonl/.csv file instead of a held-out part of --data",
  },
  "test-fraction": {
    type: "string",
    value: "F",
    description: "with --data FILE and no --test-data: the stratified part of the file held out for testing",
    default: TEST_FRACTION,
  },
};

const isFile = (spec: string) => /\.(jsonl|ndjson|csv)$/i.test(spec);

/**
 * The data named by `--data` (or by `flag`, e.g. finetune's older `--dataset`): a bundled dataset's
 * split, or a user's file split here.
 */
export function readTrainTestData(flags: Flags, o: { flag?: string } = {}): TrainTestData {
  const flag = o.flag ?? "data";
  const spec = flags.string(flag);
  if (spec === undefined)
    throw new UsageError(`--${flag} is required (${datasetNames().join(", ")} or a file)`);
  const testFile = flags.string("test-data");
  if (!isFile(spec)) {
    if (!datasetNames().includes(spec))
      throw new UsageError(
        `${flags.label(flag)}: "${spec}" is neither a bundled dataset (${datasetNames().join(", ")}) nor a .jsonl/.csv file${didYouMean(spec, datasetNames())}`,
      );
    if (testFile !== undefined)
      throw new UsageError(`--test-data: only with --data FILE (${spec} has its own test split)`);
    const split = datasetByName(spec).load();
    return { name: spec, train: split.train, test: split.test, classNames: split.train.classNames };
  }
  const all = userDataToDataset(loadUserData(spec));
  if (testFile !== undefined) {
    // The test file must name the same classes, in the same order, so label ids mean the same.
    const test = userDataToDataset(loadUserData(testFile, { classes: all.classNames }));
    return { name: spec, train: all, test, classNames: all.classNames };
  }
  const fraction = flags.number("test-fraction", { gt: 0, lt: 1 })!;
  const idx = stratifiedSplit(all.labels, { testFraction: fraction });
  if (idx.train.length === 0 || idx.test.length === 0)
    throw new UsageError(
      `${flags.label(flag)}: ${all.labels.length} records are too few to hold out ${fraction} for testing; pass --test-data`,
    );
  return {
    name: spec,
    train: pick(all, idx.train, "train"),
    test: pick(all, idx.test, "test"),
    classNames: all.classNames,
  };
}

function pick(d: Dataset, idx: ArrayLike<number>, part: string): Dataset {
  const at = Array.from(idx);
  return {
    name: `${d.name}/${part}`,
    texts: at.map((i) => d.texts[i]!),
    labels: Int32Array.from(at, (i) => d.labels[i]!),
    numClasses: d.numClasses,
    classNames: d.classNames.slice(),
    ids: at.map((i) => d.ids[i]!),
    groups: at.map((i) => d.groups[i]!),
  };
}
