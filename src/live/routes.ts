import websocket from "@fastify/websocket";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { checkGeminiKey, type ApiKeys } from "../route-kit/auth.js";
import { ApiError, errorBody, invalidArgument, permissionDenied } from "../route-kit/errors.js";
import { generationStreams } from "../serving/generation.js";
import type { FileStore } from "../files/file-store.js";
import { fileUriResolver } from "../files/resolve.js";
import { loadReferencedFiles } from "../gemini/media.js";
import type { Content } from "../gemini/protocol.js";
import type { ServerMetrics } from "../serving/metrics.js";
import type { StreamTracker } from "../serving/stream-tracker.js";
import type { ModelRegistry } from "../models/registry.js";
import { liveTransport, parseFrame } from "./framer.js";
import { ResumptionStore } from "./resumption.js";
import { LiveSession } from "./session.js";
import type { LiveLimits } from "./session-deps.js";
import { toLiveClose } from "./translate.js";
import { DEFAULTS } from "../base/config.js";

export interface LiveServerLimits extends LiveLimits {
  /** Sessions open at once; one more is closed at once with 1013 (try again later). */
  maxSessions: number;
  /** Largest client frame, in bytes; a bigger one closes the session with 1009. */
  maxFrameBytes: number;
}

export const DEFAULT_LIVE_SERVER_LIMITS = { maxSessions: DEFAULTS.liveMaxSessions, maxFrameBytes: DEFAULTS.liveMaxFrameBytes };

export interface LiveRoutesOptions {
  models: ModelRegistry;
  keys: ApiKeys;
  metrics: ServerMetrics;
  streams: StreamTracker;
  chunkWindowMs: number;
  limits: LiveServerLimits;
  /** How long a shutting-down server lets a reply in progress finish (the goAway's timeLeft). */
  drainNoticeMs: number;
  /** Uploaded files, for fileData parts in clientContent turns. */
  files?: FileStore;
}

const SERVICE = "GenerativeService";
const REFUSAL_WAIT_MS = 1000;
const VERSIONS = ["v1beta", "v1alpha", "v1"];

/** A plain GET on a Live path: the Live API is spoken over a WebSocket only. */
async function notUpgraded(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const error = invalidArgument("This is the Live API: open it as a WebSocket (an HTTP GET with Upgrade: websocket).");
  await reply.code(error.code).send(errorBody(error));
}

/**
 * The Live API: `BidiGenerateContent` upgraded to a WebSocket, on every path the SDKs open (the
 * JS SDK joins its base URL into `//ws/…`). Each connection is one LiveSession; its replies go
 * through the same admission, function calling and metering as REST generations.
 */
export async function liveRoutes(app: FastifyInstance, options: LiveRoutesOptions): Promise<void> {
  const { models, keys, metrics, streams, chunkWindowMs, limits, files } = options;
  const sessions = new Set<LiveSession>();
  const resumption = new ResumptionStore();
  await app.register(websocket, {
    options: { maxPayload: limits.maxFrameBytes },
    // Every session hears goAway first; an idle one ends now, a busy one when its reply is done.
    preClose: async () => {
      for (const session of sessions) session.shutdown(options.drainNoticeMs);
    },
    errorHandler: (error, socket, request) => {
      request.log.debug({ err: error }, "Live socket error");
      socket.terminate();
    },
  });

  // A refusal waits for the client's first frame (its setup), briefly: google-genai (Python) sends
  // setup before it reads, and a close that beats the send surfaces as a bare send error.
  const refuse = (socket: WebSocket, error: ApiError): void => {
    const { code, reason } = toLiveClose(error);
    const close = (): void => {
      clearTimeout(timer);
      if (socket.readyState === socket.OPEN) socket.close(code, reason);
    };
    const timer = setTimeout(close, REFUSAL_WAIT_MS);
    socket.once("message", close);
    socket.once("close", () => clearTimeout(timer));
  };

  function open(socket: WebSocket, request: FastifyRequest, version: string): void {
    try {
      checkGeminiKey(keys, request);
    } catch (error) {
      if (error instanceof ApiError) return refuse(socket, error);
      throw error;
    }
    if (sessions.size >= limits.maxSessions) {
      return refuse(socket, new ApiError("RESOURCE_EXHAUSTED", `All ${limits.maxSessions} Live sessions are in use. Retry later.`));
    }
    const startedAt = performance.now();
    const session = new LiveSession({
      transport: liveTransport(socket),
      resolveEngine: (model) => models.engineFor(model),
      generate: (engine, generateRequest) => generationStreams({ engine, metrics, startedAt: performance.now(), chunkWindowMs }, generateRequest)[0]!,
      track: (controller) => streams.track(controller),
      version,
      limits,
      onTurn: () => metrics.liveTurns.inc(),
      onFault: (error) => request.log.error({ err: error }, "Live session failed"),
      resumption,
      ...(files ? { loadFiles: (contents: Content[]) => loadReferencedFiles(contents, fileUriResolver(files, request.host)) } : {}),
    });
    sessions.add(session);
    metrics.liveSessions.inc();
    metrics.liveSessionsTotal.inc();
    socket.on("message", (data) => session.receive(() => parseFrame(data)));
    socket.on("close", () => {
      session.clientGone();
      sessions.delete(session);
      metrics.liveSessions.dec();
      request.log.debug({ seconds: (performance.now() - startedAt) / 1000 }, "Live session ended");
    });
  }

  for (const version of VERSIONS) {
    for (const slash of ["/", "//"]) {
      const base = `${slash}ws/google.ai.generativelanguage.${version}.${SERVICE}`;
      app.route({ method: "GET", url: `${base}.BidiGenerateContent`, handler: notUpgraded, wsHandler: (socket, request) => open(socket, request, version) });
      // Ephemeral tokens are not issued here, so no access token can be valid.
      app.route({
        method: "GET",
        url: `${base}.BidiGenerateContentConstrained`,
        handler: notUpgraded,
        wsHandler: (socket) => refuse(socket, permissionDenied("Ephemeral tokens are not issued by this server; open BidiGenerateContent with an API key.")),
      });
    }
  }
}
