import { timeOneStream } from "./stream-clients.js";
const [url, model, n, tok] = process.argv.slice(2);
const t: number[] = [];
for (let i = 0; i < Number(n); i++) t.push(Math.round((await timeOneStream({ baseUrl: url!, format: "openai", model: model!, maxTokens: Number(tok ?? 20), prompt: "Tell me a long story about a little girl and her dog." })).ttft * 10) / 10);
console.log(url, JSON.stringify(t.sort((a, b) => a - b)));
