/**
 * Which way imports may point between the folders of src/ (see README "Layout"):
 * base <- engines <- serving <- route-kit <- the wire surfaces (files, gemini, openai, live) <- http <- cli.
 * `npm test` runs this first; a new import against the direction fails it.
 */
const surfaces = "^src/(gemini|openai|live|web)/";
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "Modules that import each other, directly or round about, cannot be understood or moved apart.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-cycles",
      severity: "error",
      comment: "Folders that import each other, directly or round about, are one layer in two rooms.",
      scope: "folder",
      from: {},
      to: { circular: true },
    },
    {
      name: "base-is-the-bottom",
      severity: "error",
      comment: "base/ (the error type, ids) is used by every layer and uses none.",
      from: { path: "^src/base/" },
      to: { path: "^src/(?!base/)" },
    },
    {
      name: "engines-below-serving",
      severity: "error",
      comment: "An engine knows nothing of serving, the wires, HTTP, model files or the CLI.",
      from: { path: "^src/engines/" },
      to: { path: "^src/(serving|route-kit|http|gemini|openai|live|files|web|models|cli)/" },
    },
    {
      name: "serving-below-the-wires",
      severity: "error",
      comment: "What both surfaces share knows neither surface, nor HTTP.",
      from: { path: "^src/serving/" },
      to: { path: "^src/(route-kit|http|gemini|openai|live|files|web|cli)/" },
    },
    {
      name: "models-below-serving",
      severity: "error",
      comment: "The registry and model files know engines only.",
      from: { path: "^src/models/" },
      to: { path: "^src/(serving|route-kit|http|gemini|openai|live|files|web|cli)/" },
    },
    {
      name: "route-kit-below-the-wires",
      severity: "error",
      comment: "route-kit/ (validation, error bodies, SSE framing, stream replies) serves every wire and knows none of them.",
      from: { path: "^src/route-kit/" },
      to: { path: "^src/(gemini|openai|live|files|web|models|http|cli)/" },
    },
    {
      name: "wires-do-not-import-http",
      severity: "error",
      comment: "http/ only assembles the server from the wire surfaces; what a surface needs of HTTP lives in route-kit/.",
      from: { path: "^src/(gemini|openai|live|files|web)/" },
      to: { path: "^src/http/" },
    },
    {
      name: "nothing-imports-the-cli",
      severity: "error",
      comment: "The CLI assembles everything; nothing depends on it.",
      from: { path: "^src/(?!cli/)" },
      to: { path: "^src/cli/" },
    },
    {
      name: "surfaces-do-not-import-each-other",
      severity: "error",
      comment: "Each wire surface stands alone on serving/, engines/ and the file store; what two share moves down. (live/ is Gemini's own wire and builds on gemini/.)",
      from: { path: "^src/(gemini|openai|web)/" },
      to: { path: `${surfaces}`, pathNot: "^src/$1/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
