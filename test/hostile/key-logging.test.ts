import { describe, expect, it } from "vitest";
import { spawnServer } from "../support/process.js";

describe("API keys in logs", () => {
  it("never appear in the server's logs, right or wrong, in a header, the query or a bearer token", async () => {
    const secret = "sk-live-0123456789abcdef";
    const wrong = ["wrong-key-zyxwvut", "wrong-bearer-qponml", "wrong-query-kjihgf"];
    const server = await spawnServer(["--api-key", secret, "--log-level", "debug"]);
    try {
      const model = `${server.url}/v1beta/models/stories-260k`;
      const body = JSON.stringify({ contents: [{ parts: [{ text: "Once" }] }], generationConfig: { maxOutputTokens: 3 } });
      const responses = await Promise.all([
        fetch(`${model}:generateContent`, { method: "POST", body, headers: { "x-goog-api-key": secret } }),
        fetch(`${model}:generateContent?key=${secret}`, { method: "POST", body }),
        fetch(`${model}:generateContent?alt=sse&key=${wrong[2]}`, { method: "POST", body }),
        fetch(`${model}:generateContent`, { method: "POST", body, headers: { "x-goog-api-key": wrong[0]! } }),
        fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${secret}` },
          body: JSON.stringify({ model: "stories-260k", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
        }),
        fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${wrong[1]}` } }),
      ]);
      expect(responses.map((r) => r.status)).toEqual([200, 200, 400, 400, 200, 401]);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      server.child.kill("SIGTERM");
      await new Promise((resolve) => server.child.on("exit", resolve));
    }
    const logs = server.stderr();
    expect(logs).toContain("incoming request"); // the requests were logged…
    for (const key of [secret, ...wrong]) expect(logs).not.toContain(key); // …without their keys
  });
});
