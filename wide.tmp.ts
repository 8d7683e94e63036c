import { startServer } from "./src/cli/serve.js";
import { registryFrom } from "./src/cli/options.js";
const server = await startServer({ models: registryFrom(undefined, undefined, undefined), host: "127.0.0.1", port: 0, apiKeys: [], modelsDir: "/work/shared/models", threads: 1, logLevel: "silent", limits: { maxBodyBytes: 4 * 1024 * 1024 } } as any);
const N = Number(process.argv[2] ?? 100_000);
const keys = (n: number, v: string) => "{" + Array.from({ length: n }, (_, i) => `"${i.toString(36)}":${v}`).join(",") + "}";
const arr = (n: number, v: string) => "[" + Array(n).fill(v).join(",") + "]";
const HI = '[{"role":"user","parts":[{"text":"Once upon a time"}]}]';
const g = "/v1beta/models/stories-260k:generateContent";
const cases: [string, string, string][] = [
  ["schema props", g, `{"contents":${HI},"generationConfig":{"maxOutputTokens":3,"responseMimeType":"application/json","responseSchema":{"type":"OBJECT","properties":${keys(N, '{"type":"STRING"}')}}}}`],
  ["schema required props", g, `{"contents":${HI},"generationConfig":{"maxOutputTokens":3,"responseMimeType":"application/json","responseSchema":{"type":"OBJECT","properties":${keys(N, '{"type":"STRING"}')},"required":${arr(N, '"a"')}}}}`],
  ["enum", g, `{"contents":${HI},"generationConfig":{"maxOutputTokens":3,"responseMimeType":"text/x.enum","responseSchema":{"type":"STRING","enum":${arr(N, '"x"')}}}}`],
  ["anyOf", g, `{"contents":${HI},"generationConfig":{"maxOutputTokens":3,"responseMimeType":"application/json","responseSchema":{"anyOf":${arr(N, '{"type":"STRING"}')}}}}`],
  ["params props", g, `{"contents":${HI},"generationConfig":{"maxOutputTokens":3},"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","properties":${keys(N, '{"type":"STRING"}')}}}]}]}`],
  ["contents", g, `{"contents":${arr(N, "{}")}}`],
  ["parts", g, `{"contents":[{"parts":${arr(N, '{"text":"a"}')}}]}`],
  ["root keys", g, keys(N, "0")],
  ["labels", g, `{"contents":${HI},"generationConfig":{"maxOutputTokens":3},"labels":${keys(N, '"v"')}}`],
  ["args keys", g, `{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":${keys(N, "0")}}}]},{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":3}}`],
  ["count contents", "/v1beta/models/stories-260k:countTokens", `{"contents":${arr(9000, '{"parts":[{"text":"a"}]}')}}`],
  ["chat messages", "/v1/chat/completions", `{"model":"stories-260k","max_tokens":3,"messages":${arr(N, '{"role":"user","content":"a"}')}}`],
  ["chat schema", "/v1/chat/completions", `{"model":"stories-260k","max_tokens":3,"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":${keys(N, '{"type":"string"}')}}}}}`],
  ["embed inputs", "/v1/embeddings", `{"model":"stories-260k","input":${arr(2048, '"a"')}}`],
  ["logit_bias", "/v1/chat/completions", `{"model":"stories-260k","messages":[{"role":"user","content":"a"}],"logit_bias":${keys(N, "1")}}`],
];
for (const [name, path, body] of cases) {
  const t = performance.now();
  const r = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(60_000) }).catch((e) => e);
  const text = r instanceof Response ? await r.text() : String(r);
  console.log(name, (body.length / 1024).toFixed(0), "KiB", r.status, (performance.now() - t).toFixed(0), "ms", text.slice(0, 150).replace(/\n/g, " | "));
}
await server.close();
