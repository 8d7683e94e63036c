#!/usr/bin/env node
import { Command, Option } from "commander";
import { defaultModelsDir } from "../models/model-cache.js";
import { DEFAULT_MODEL_ID } from "../models/registry.js";
import { listModels } from "./models.js";
import { collect, engineOption, llamaServerOption, modelsDirOption, nonNegativeInt, parallelOption, port, positiveInt, registryFrom, nonNegativeNumber, threadsOption, tlsFiles } from "./options.js";
import { pullModel } from "./pull.js";
import { runEngineBuild } from "./engine-build.js";
import { defaultDataDir } from "../files/data-dir.js";
import { startServer } from "./serve.js";
import { runStream } from "./stream.js";
import { DEFAULTS, environment } from "../base/config.js";

const program = new Command()
  .name("genai-local")
  .description("The Gemini API (v1beta, streaming) over local GGUF models")
  .showHelpAfterError();

program
  .command("serve")
  .description("serve the Gemini API")
  .addOption(new Option("--host <host>", "address to listen on").default(DEFAULTS.host).env("GENAI_LOCAL_HOST"))
  .addOption(new Option("--port <port>", "port (0 picks a free one)").argParser(port).default(DEFAULTS.port).env("GENAI_LOCAL_PORT"))
  .option("--model <ID=SOURCE>", "a model: ID=path/to/file.gguf or ID=hf:owner/repo/file.gguf, optionally ending in ,chat-wrapper=NAME (a node-llama-cpp chat wrapper: qwen, qwen3.5, deepSeek, harmony, gemma4, seed, chatML, …) (repeatable; the first is the default)", collect)
  .option("--upstream <ID=openai:URL>", "a model served by a remote OpenAI-compatible engine: ID=openai:BASE_URL[,model=NAME][,key=ENV_VAR][,input=image+audio+pdf] (repeatable)", collect)
  .option("--alias <ID=TARGET>", "answer model id ID with model TARGET (repeatable)", collect)
  .addOption(modelsDirOption())
  .addOption(new Option("--api-key <key>", "require this API key (repeatable)").argParser(collect))
  .addOption(threadsOption())
  .addOption(parallelOption())
  .addOption(engineOption())
  .addOption(llamaServerOption())
  .addOption(
    new Option("--pin <mode>", "pin each one-thread model runner to a CPU of its own (auto: on Linux, with taskset) or not (off)")
      .choices(["auto", "off"])
      .default("auto")
      .env("GENAI_LOCAL_PIN"),
  )
  .addOption(
    new Option("--flash-attention <mode>", "llama.cpp flash attention: auto (off on the CPU alone, where it is slower; llama.cpp's choice on a GPU), on, or off")
      .choices(["auto", "on", "off"])
      .default("auto")
      .env("GENAI_LOCAL_FLASH_ATTENTION"),
  )
  .addOption(new Option("--queue-size <n>", "requests that may wait for a free stream, per model (default: 4 × parallel)").argParser(nonNegativeInt))
  .addOption(new Option("--queue-timeout <seconds>", "longest wait for a free stream before 429").argParser(nonNegativeNumber).default(DEFAULTS.queueTimeoutMs / 1000))
  .addOption(new Option("--drain-timeout <seconds>", "on SIGTERM/SIGINT, how long running streams may take to finish").argParser(nonNegativeNumber).default(DEFAULTS.drainTimeoutMs / 1000))
  .addOption(new Option("--max-body <bytes>", "largest request body").argParser(positiveInt).default(DEFAULTS.maxBodyBytes))
  .addOption(new Option("--max-header-size <bytes>", "largest request head").argParser(positiveInt).default(DEFAULTS.maxHeaderBytes))
  .addOption(new Option("--request-timeout <seconds>", "time a client has to send its whole request").argParser(nonNegativeNumber).default(DEFAULTS.requestTimeoutMs / 1000))
  .addOption(new Option("--chunk-window <ms>", "text generated within this many ms of the last chunk joins the next chunk (0: a chunk per token)").argParser(nonNegativeNumber).default(DEFAULTS.chunkWindowMs))
  .option("--cors-origin <origin>", "allow this browser origin (repeatable; CORS is off by default)", collect)
  .addOption(new Option("--cache-max-tokens <n>", "tokens all cached contents (context caching) may hold together").argParser(positiveInt).default(DEFAULTS.cacheMaxTokens))
  .addOption(new Option("--cache-dir <dir>", "where cached contents' KV states are saved (in a directory of this server's own, removed on exit)").env("GENAI_LOCAL_CACHE_DIR"))
  .addOption(new Option("--log-level <level>", "fatal, error, warn, info, debug").env("GENAI_LOCAL_LOG_LEVEL"))
  // The Files API: uploaded files live on disk under the data directory and survive restarts.
  .addOption(new Option("--data-dir <dir>", "where uploaded files and the thought-signing key are kept (default: the user's state directory, e.g. ~/.local/state/genai-local)").env("GENAI_LOCAL_DATA_DIR"))
  .addOption(new Option("--files-max-bytes <bytes>", "bytes all uploaded files may take together").argParser(positiveInt).default(DEFAULTS.maxTotalFileBytes))
  .addOption(new Option("--file-max-bytes <bytes>", "largest uploaded file").argParser(positiveInt).default(DEFAULTS.maxFileBytes))
  .addOption(new Option("--files-ttl <hours>", "how long an uploaded file lives before it is deleted").argParser(nonNegativeNumber).default(DEFAULTS.fileTtlMs / 3_600_000))
  // TLS: HTTPS and WSS on the same port (google-genai for Python opens Live only over wss://).
  .addOption(new Option("--tls-cert <file>", "PEM certificate (chain): serve HTTPS and WSS instead of HTTP and WS").env("GENAI_LOCAL_TLS_CERT"))
  .addOption(new Option("--tls-key <file>", "PEM private key of --tls-cert").env("GENAI_LOCAL_TLS_KEY"))
  // The Live API (WebSocket sessions).
  .addOption(new Option("--live-max-sessions <n>", "Live API sessions open at once").argParser(positiveInt).default(DEFAULTS.liveMaxSessions))
  .addOption(new Option("--live-idle-timeout <seconds>", "a Live session with no input for this long is ended").argParser(nonNegativeNumber).default(DEFAULTS.liveIdleTimeoutMs / 1000))
  .addOption(new Option("--live-session-timeout <seconds>", "longest life of a Live session (goAway comes 10 s before)").argParser(nonNegativeNumber).default(DEFAULTS.liveSessionTimeoutMs / 1000))
  .addOption(new Option("--live-max-frame <bytes>", "largest Live client message").argParser(positiveInt).default(DEFAULTS.liveMaxFrameBytes))
  .action(async (opts, command: Command) => {
    const envKeys = environment.apiKeys();
    const server = await startServer({
      models: registryFrom(opts.model, opts.alias, opts.upstream),
      host: opts.host,
      port: opts.port,
      apiKeys: [...(opts.apiKey ?? []), ...envKeys],
      modelsDir: opts.modelsDir ?? defaultModelsDir(),
      threads: opts.threads,
      parallel: opts.parallel,
      pin: opts.pin,
      flashAttention: opts.flashAttention,
      engine: opts.engine,
      llamaServer: opts.llamaServer,
      llamaServerFromEnv: command.getOptionValueSource("llamaServer") === "env",
      progress: true,
      logLevel: opts.logLevel,
      queueSize: opts.queueSize,
      queueTimeoutMs: opts.queueTimeout * 1000,
      drainTimeoutMs: opts.drainTimeout * 1000,
      limits: { maxBodyBytes: opts.maxBody, maxHeaderBytes: opts.maxHeaderSize, requestTimeoutMs: opts.requestTimeout * 1000 },
      corsOrigins: opts.corsOrigin,
      chunkWindowMs: opts.chunkWindow,
      cacheMaxTokens: opts.cacheMaxTokens,
      cacheDir: opts.cacheDir,
      files: { dataDir: opts.dataDir, maxTotalBytes: opts.filesMaxBytes, maxFileBytes: opts.fileMaxBytes, ttlMs: opts.filesTtl * 3600_000 },
      tls: tlsFiles(opts.tlsCert, opts.tlsKey),
      live: {
        maxSessions: opts.liveMaxSessions,
        idleTimeoutMs: opts.liveIdleTimeout * 1000,
        maxSessionMs: opts.liveSessionTimeout * 1000,
        maxFrameBytes: opts.liveMaxFrame,
      },
    });
    process.stdout.write(`genai-local listening on ${server.url}\n`);
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      server.app.log.info({ signal }, "shutting down");
      server.close().then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });

program
  .command("stream")
  .description("stream a reply like the Streaming Quickstart: each chunk's text, then a line of 80 _")
  .argument("<prompt>", "the prompt")
  .option("--model <id>", "model id (or ID=SOURCE, a .gguf path, an hf: URI)", DEFAULT_MODEL_ID)
  .option("--url <url>", "a running genai-local (or any Gemini API) server; without it the model runs in this process")
  .addOption(new Option("--api-key <key>", "API key for --url").env("GENAI_LOCAL_API_KEY"))
  .addOption(modelsDirOption())
  .addOption(threadsOption())
  .addOption(engineOption())
  .addOption(llamaServerOption())
  .action(async (prompt: string, opts, command: Command) => {
    const isSource = /[=/\\]|\.gguf$|^hf:/i.test(opts.model) && !opts.url;
    const models = registryFrom(isSource ? [opts.model] : [], []);
    await runStream({
      prompt,
      model: isSource ? models.defaultId : opts.model,
      models,
      url: opts.url,
      apiKey: opts.apiKey,
      modelsDir: opts.modelsDir ?? defaultModelsDir(),
      threads: opts.threads,
      parallel: 1,
      progress: true,
      engine: opts.engine,
      llamaServer: opts.llamaServer,
      llamaServerFromEnv: command.getOptionValueSource("llamaServer") === "env",
      dataDir: defaultDataDir(),
    });
  });

program
  .command("models")
  .description("list the configured models and the model files in the models dir")
  .option("--model <ID=SOURCE>", "a model, as for serve (repeatable)", collect)
  .addOption(modelsDirOption())
  .action(async (opts) => listModels(registryFrom(opts.model, []), opts.modelsDir ?? defaultModelsDir()));

program
  .command("pull")
  .description("download a model into the models dir (hf:owner/repo[@revision]/file.gguf or an https URL; the default model when none is given)")
  .argument("[source]")
  .addOption(modelsDirOption())
  .action(async (source: string | undefined, opts) => pullModel(source, opts.modelsDir ?? defaultModelsDir()));

program
  .command("engine")
  .description("the llama-server engine (see docs/engines.md)")
  .command("build")
  .description("compile llama.cpp's llama-server from the source node-llama-cpp ships (needs git, cmake, ninja and a C++ compiler) and install it under the data dir, where --engine auto finds it")
  .addOption(new Option("--data-dir <dir>", "install under this data directory (default: the user's state directory, e.g. ~/.local/state/genai-local)").env("GENAI_LOCAL_DATA_DIR"))
  .option("--work-dir <dir>", "clone and build here and keep it (a later build reuses it); default: a temp directory, removed afterwards")
  .addOption(new Option("--jobs <n>", "compile jobs (default: ninja's, one per core)").argParser(positiveInt))
  .option("--verbose", "print everything cmake and the compiler print")
  .action(async (opts) => runEngineBuild({ dataDir: opts.dataDir ?? defaultDataDir(), workDir: opts.workDir, jobs: opts.jobs, verbose: opts.verbose }));

program.parseAsync().catch((error: unknown) => {
  // Expected failures (a missing model, a port in use) are one readable line, not a stack trace.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`genai-local: ${message}\n`);
  if (environment.debug()) process.stderr.write(`${(error as Error).stack ?? ""}\n`);
  process.exit(1);
});
