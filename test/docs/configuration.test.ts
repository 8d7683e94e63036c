import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * docs/configuration.md lists every option and environment variable, and the README every
 * option: both are read here against what src/ declares and reads, so a new option or variable
 * cannot land undocumented. Pure file reads, no server.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Read by the code but not genai-local's configuration. */
const NOT_CONFIGURATION = new Set(["PATH"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** Long options declared as commander strings ("--name <value>", "--name"). */
function declaredOptions(sources: string[]): string[] {
  const options = new Set<string>();
  for (const text of sources) for (const match of text.matchAll(/["'`](--[a-z][a-z-]*)(?=[ "'`<[])/g)) options.add(match[1]!);
  return [...options].sort();
}

/** Environment variables read (process.env.NAME) or bound to an option (.env("NAME")). */
function environmentVariables(sources: string[]): string[] {
  const names = new Set<string>();
  for (const text of sources) {
    for (const match of text.matchAll(/process\.env\.([A-Z][A-Z0-9_]*)|\.env\(\s*["']([A-Z][A-Z0-9_]*)["']/g)) names.add((match[1] ?? match[2])!);
  }
  return [...names].filter((name) => !NOT_CONFIGURATION.has(name)).sort();
}

const missingFrom = (page: string, names: string[]): string[] => {
  const text = readFileSync(path.join(repoRoot, page), "utf8");
  return names.filter((name) => !new RegExp(`(?<![\\w-])${name}(?![\\w-])`).test(text));
};

describe("documented configuration", () => {
  const cli = sourceFiles(path.join(repoRoot, "src/cli")).map((file) => readFileSync(file, "utf8"));
  const all = sourceFiles(path.join(repoRoot, "src")).map((file) => readFileSync(file, "utf8"));

  it("finds the options and variables it checks", () => {
    expect(declaredOptions(cli)).toEqual(expect.arrayContaining(["--host", "--model", "--chunk-window", "--url"]));
    expect(environmentVariables(all)).toEqual(expect.arrayContaining(["GENAI_LOCAL_PORT", "GENAI_LOCAL_GPU", "HF_TOKEN"]));
    expect(declaredOptions(['.option("--brand-new <n>", "x")'])).toEqual(["--brand-new"]);
    expect(environmentVariables(['new Option("--x").env("GENAI_LOCAL_NEW")', "process.env.OTHER_NEW"])).toEqual(["GENAI_LOCAL_NEW", "OTHER_NEW"]);
  });

  it("docs/configuration.md names every option and environment variable", () => {
    expect(missingFrom("docs/configuration.md", declaredOptions(cli))).toEqual([]);
    expect(missingFrom("docs/configuration.md", environmentVariables(all))).toEqual([]);
  });

  it("the README names every option", () => {
    expect(missingFrom("README.md", declaredOptions(cli))).toEqual([]);
  });

  it("a page without them is caught", () => {
    expect(missingFrom("test/docs/fixtures/links.md", ["--host", "GENAI_LOCAL_PORT"])).toEqual(["--host", "GENAI_LOCAL_PORT"]);
  });
});
