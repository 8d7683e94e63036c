import { describe, expect, it } from "vitest";
import { spawnServer } from "../support/process.js";

interface LogEntry {
  msg: string;
  reqId?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}

describe("request logs", () => {
  it("at info, each request is one line when it ends (method, URL with the key redacted, status, time); nothing at its arrival", async () => {
    const server = await spawnServer(["--log-level", "info"]);
    const ids = ["log-generate-1", "log-missing-2"];
    try {
      const generated = await fetch(`${server.url}/v1beta/models/stories-260k:generateContent?key=not-logged`, {
        method: "POST",
        headers: { "x-request-id": ids[0]! },
        body: JSON.stringify({ contents: [{ parts: [{ text: "Once" }] }], generationConfig: { maxOutputTokens: 3 } }),
      });
      const missing = await fetch(`${server.url}/v1beta/nowhere`, { headers: { "x-request-id": ids[1]! } });
      expect([generated.status, missing.status]).toEqual([200, 404]);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      server.child.kill("SIGTERM");
      await new Promise((resolve) => server.child.on("exit", resolve));
    }
    const entries: LogEntry[] = server
      .stderr()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as LogEntry);
    const of = (id: string) => entries.filter((entry) => entry.reqId === id);
    expect(of(ids[0]!).map((entry) => entry.msg)).toEqual(["request completed"]);
    expect(of(ids[1]!).map((entry) => entry.msg)).toEqual(["request completed"]);
    expect(of(ids[0]!)[0]).toMatchObject({ req: { method: "POST", url: "/v1beta/models/stories-260k:generateContent?key=[redacted]" }, res: { statusCode: 200 } });
    expect(of(ids[1]!)[0]).toMatchObject({ req: { method: "GET", url: "/v1beta/nowhere" }, res: { statusCode: 404 } });
    expect(of(ids[0]!)[0]!.responseTime).toBeGreaterThan(0);
    expect(entries.some((entry) => entry.msg === "incoming request")).toBe(false);
  });
});
