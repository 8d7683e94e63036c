import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The README's layout and the docs' relative links cannot go stale: the layout must name every
 * folder of src/ and nothing that is gone, and every relative link (and #anchor) must resolve.
 * Pure file reads, no server.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");


const FENCED = /^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm;

/** Markdown with fenced code blocks and inline code spans blanked, so examples are not read as links. */
function prose(markdown: string): string {
  return markdown.replace(FENCED, "").replace(/`[^`\n]*`/g, "");
}

/** The paths (ending in `/`) that start the lines of the first code block under `## Layout`. */
function layoutPaths(readme: string): string[] {
  const section = /^## Layout\s*$([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
  if (!section) throw new Error("README.md has no '## Layout' section");
  const block = /^```[^\n]*\n([\s\S]*?)^```/m.exec(section)?.[1];
  if (!block) throw new Error("README.md's Layout section has no code block");
  return block
    .split("\n")
    .map((line) => /^([\w.-]+(?:\/[\w.-]+)*\/)\s/.exec(`${line} `)?.[1])
    .filter((p): p is string => p !== undefined);
}

/** Every folder under `dir` (recursively), as `dir/…/` paths relative to `root`. */
function foldersUnder(root: string, dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const rel = `${dir}/${entry.name}`;
      return [`${rel}/`, ...foldersUnder(root, rel)];
    });
}

/** What the layout gets wrong: src/ folders it leaves out, and paths it names that are not folders. */
function layoutProblems(root: string, named: string[]): string[] {
  const problems: string[] = [];
  for (const folder of foldersUnder(root, "src")) {
    if (!named.includes(folder)) problems.push(`leaves out ${folder}`);
  }
  for (const p of named) {
    const full = path.join(root, p);
    if (!existsSync(full) || !statSync(full).isDirectory()) problems.push(`names ${p}, which is not a folder`);
  }
  return problems;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingSlug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a page's headings (outside code blocks), with GitHub's -1, -2 for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const match of markdown.replace(FENCED, "").matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = headingSlug(match[1]!);
    const n = counts.get(slug) ?? 0;
    counts.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Relative links in `file` (relative to `root`) whose target file or #anchor does not exist. */
function brokenLinks(root: string, file: string, skip: ReadonlySet<string> = new Set()): string[] {
  const source = path.join(root, file);
  const text = readFileSync(source, "utf8");
  const broken: string[] = [];
  for (const match of prose(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [filePart, anchor] = target.split("#", 2) as [string, string | undefined];
    const resolved = filePart ? path.resolve(path.dirname(source), decodeURI(filePart)) : source;
    const relative = path.relative(root, resolved).split(path.sep).join("/");
    if (!existsSync(resolved)) {
      if (!skip.has(relative)) broken.push(`${file}: ${target} (no ${relative})`);
      continue;
    }
    if (anchor && resolved.endsWith(".md") && !anchorsOf(readFileSync(resolved, "utf8")).has(anchor.toLowerCase())) {
      broken.push(`${file}: ${target} (no heading #${anchor} in ${relative})`);
    }
  }
  return broken;
}

function checkedPages(root: string): string[] {
  const docs = existsSync(path.join(root, "docs"))
    ? readdirSync(path.join(root, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)
    : [];
  return ["README.md", "bench/README.md", ...docs];
}

describe("README layout", () => {
  it("names every folder of src/, and only folders that exist", () => {
    const named = layoutPaths(readFileSync(path.join(repoRoot, "README.md"), "utf8"));
    expect(named).toContain("src/gemini/");
    expect(named).toContain("src/route-kit/");
    expect(layoutProblems(repoRoot, named)).toEqual([]);
  });

  it("catches a layout that leaves out a folder or names one that is gone", () => {
    const readme = "# x\n\n## Layout\n\n```\nsrc/gemini/   wire\nsrc/nowhere/  gone\n```\n\n## More\n";
    const named = layoutPaths(readme);
    expect(named).toEqual(["src/gemini/", "src/nowhere/"]);
    const problems = layoutProblems(repoRoot, named);
    expect(problems).toContain("leaves out src/engines/llama/");
    expect(problems).toContain("names src/nowhere/, which is not a folder");
  });
});

describe("relative links in README.md, bench/README.md and docs/*.md", () => {
  it("point at files and headings that exist", () => {
    const pages = checkedPages(repoRoot);
    expect(pages).toContain("docs/performance.md");
    expect(pages.flatMap((page) => brokenLinks(repoRoot, page))).toEqual([]);
  });

  it("catches a missing file and a missing heading, and ignores code and absolute URLs", () => {
    const page = "test/docs/fixtures/links.md";
    expect(brokenLinks(repoRoot, page)).toEqual([
      `${page}: ../../../docs/missing-page.md (no docs/missing-page.md)`,
      `${page}: ../../../README.md#no-such-heading (no heading #no-such-heading in README.md)`,
    ]);
  });

  it("slugs headings as GitHub does", () => {
    expect(headingSlug("`npm run soak`: long mixed traffic")).toBe("npm-run-soak-long-mixed-traffic");
    expect(headingSlug("Against an upstream: llama-cpp-python")).toBe("against-an-upstream-llama-cpp-python");
    expect(anchorsOf("## A\n## A\n")).toEqual(new Set(["a", "a-1"]));
  });
});
