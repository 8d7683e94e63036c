import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { playgroundPlugin } from "../../src/web/playground-plugin.js";

describe("playground plugin", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify();
    await app.register(playgroundPlugin);
    await app.ready();
  });
  afterAll(() => app.close());

  it("serves the page at / with a policy that lets no inline or foreign script run", async () => {
    const page = await app.inject("/");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.body).toContain('<script type="module" src="/playground/app.js">');
  });

  it.each([
    ["/playground/app.js", "text/javascript; charset=utf-8", "listModels"],
    ["/playground/style.css", "text/css; charset=utf-8", ".turn"],
    ["/playground/vendor/marked.js", "text/javascript; charset=utf-8", "export{"],
    ["/playground/vendor/purify.js", "text/javascript; charset=utf-8", "export {"],
  ])("serves %s", async (url, type, sample) => {
    const response = await app.inject(url);
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe(type);
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.body).toContain(sample);
  });

  it.each(["/playground/../package.json", "/playground/%2e%2e/package.json", "/playground/vendor/../../package.json", "/playground/index.html", "/playground/", "/playground/nope.js"])(
    "answers 404 for %s: only listed files are served",
    async (url) => {
      expect((await app.inject(url)).statusCode).toBe(404);
    },
  );
});
