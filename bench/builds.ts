/**
 * Two (or more) builds of the server side by side: the same @google/genai (or openai) stream
 * against one server per build, request by request in turn, each after an idle gap as a client
 * that reads and then asks again — so that slow drifts of this machine fall on every build
 * alike. Prints time to first token (p25 / p50 / p75 / mean) and tokens/s (median) per build, as
 * a table and JSON. A change worth a few hundred microseconds needs ~150 requests per build here.
 *
 *   npm run bench:builds -- --main /path/to/other/dist/cli/main.js [--main …]   (one --main: this tree's build is the other)
 *                           [--requests 150] [--gap-ms 100] [--streams 1] [--surface gemini|openai]
 *                           [--max-tokens 300] [--model-path GGUF] [--server-args "--threads 1 --parallel 4"] [--json out.json]
 *
 * Make the other build from a worktree, e.g. `git worktree add /tmp/base HEAD~1 && cd /tmp/base &&
 * ln -s "$OLDPWD/node_modules" && npx tsc`.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { median, type Run } from "./engine-alone.js";
import { benchModel, modelOptions, startLocalServer } from "./local-server.js";
import { sdkRunners } from "./sdk-runners.js";
import { percentile } from "./stream-clients.js";

const { values } = parseArgs({
  options: {
    main: { type: "string", multiple: true },
    requests: { type: "string", default: "150" },
    "gap-ms": { type: "string", default: "100" },
    streams: { type: "string", default: "1" },
    surface: { type: "string", default: "gemini" },
    "max-tokens": { type: "string", default: "300" },
    // What every server is started with besides the model (e.g. "--llama-server PATH --parallel 4" for that engine at its default threads).
    "server-args": { type: "string", default: "--threads 1 --parallel 4" },
    json: { type: "string" },
    ...modelOptions,
  },
});
const model = benchModel(values);
const mains = values.main?.length ? values.main : ["dist/cli/main.js"];
if (!mains.includes("dist/cli/main.js") && mains.length === 1) mains.push("dist/cli/main.js");
const REQUESTS = Number(values.requests);
const GAP_MS = Number(values["gap-ms"]);
const STREAMS = Number(values.streams);
const surface = values.surface === "openai" ? "openai" : "gemini";
const WARM_UP = 3;

const servers = await Promise.all(mains.map((main) => startLocalServer([...model.serverArgs, ...values["server-args"]!.split(" ").filter(Boolean)], main)));
try {
  const runners = servers.map((server) => sdkRunners(server.url, model.id, Number(values["max-tokens"]))[surface]);
  const runs: Run[][] = mains.map(() => []);
  for (let round = 0; round < REQUESTS + WARM_UP; round++) {
    for (const [i, run] of runners.entries()) {
      await new Promise((resolve) => setTimeout(resolve, GAP_MS));
      const result = await run("Once upon a time", STREAMS);
      if (round >= WARM_UP) runs[i]!.push(result);
    }
  }
  const rows = mains.map((main, i) => {
    const ttfts = runs[i]!.map((r) => r.ttft);
    return {
      build: main,
      requests: ttfts.length,
      ttftP25Ms: +percentile(ttfts, 25).toFixed(2),
      ttftP50Ms: +percentile(ttfts, 50).toFixed(2),
      ttftP75Ms: +percentile(ttfts, 75).toFixed(2),
      ttftMeanMs: +(ttfts.reduce((s, t) => s + t, 0) / ttfts.length).toFixed(2),
      tokPerS: Math.round(median(runs[i]!.map((r) => (r.tokens / r.ms) * 1000))),
    };
  });
  console.table(rows);
  const out = { modelPath: model.path, surface, streams: STREAMS, gapMs: GAP_MS, rows };
  console.log(JSON.stringify(out));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`);
} finally {
  await Promise.all(servers.map((server) => server.stop()));
}
