/**
 * `memarc bench coordinator` end to end on a small swarm: real nodes join, every round aggregates
 * every node's update, and the JSON accounts for the bytes that crossed the wire (an update of M
 * floats is at least 4·M bytes per node each way). Speed is measured by the command, not here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runMemarc } from "./cli-run.js";

describe("bench coordinator", { timeout: 180_000 }, () => {
  it("runs two swarm sizes and reports each round's wall time, CPU, RSS and bytes", async () => {
    const floats = 5000;
    const r = await runMemarc(
      [
        "bench",
        "coordinator",
        "--nodes",
        "3,8",
        "--update-floats",
        String(floats),
        "--rounds",
        "2",
        "--json",
      ],
      {},
      150_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const { results } = r.json as {
      results: {
        nodes: number;
        rounds: number;
        roundSecondsP50: number;
        cpuSecondsPerRound: number;
        peakRssMB: number;
        perRound: { seconds: number; bytesIn: number; bytesOut: number }[];
      }[];
    };
    assert.deepEqual(
      results.map((x) => x.nodes),
      [3, 8],
    );
    for (const x of results) {
      assert.equal(x.perRound.length, 2);
      for (const round of x.perRound) {
        assert.ok(round.bytesIn >= x.nodes * floats * 4, `bytes in ${round.bytesIn}`);
        assert.ok(round.bytesOut >= x.nodes * floats * 4, `bytes out ${round.bytesOut}`);
        assert.ok(round.seconds > 0);
      }
      assert.ok(x.cpuSecondsPerRound > 0 && x.peakRssMB > 0);
    }
    assert.match(r.stderr, /round 2\/2/);
  });

  it("refuses a bad --nodes list naming the flag", async () => {
    const r = await runMemarc(["bench", "coordinator", "--nodes", "10,x"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--nodes/);
  });
});
