import http from "node:http";
import https from "node:https";

export interface HttpGetOptions {
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** Fails the request when the connection is silent this long, before or during the body. */
  idleTimeoutMs: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * A GET with node:http(s) rather than fetch: once the app imports undici 7, fetch runs on its
 * client, which crashes the process (an uncatchable assert) when a `Connection: close` server
 * ends the socket while the body is paused under backpressure — the normal state of a download
 * written to disk (nodejs/undici#5360, fixed only in undici 8, which needs Node 22).
 *
 * Follows redirects; resolves with the final response once its headers are in.
 */
export function httpGet(url: string, opts: HttpGetOptions): Promise<http.IncomingMessage> {
  return getFollowingRedirects(new URL(url), opts.headers, opts, MAX_REDIRECTS);
}

function getFollowingRedirects(url: URL, headers: Record<string, string>, opts: HttpGetOptions, redirectsLeft: number): Promise<http.IncomingMessage> {
  const client = url.protocol === "https:" ? https : url.protocol === "http:" ? http : undefined;
  if (!client) return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  return new Promise((resolve, reject) => {
    let finalResponse: http.IncomingMessage | undefined;
    const request = client.get(url, { headers, signal: opts.signal }, (response) => {
      const location = response.headers.location;
      if (!location || !REDIRECT_STATUSES.has(response.statusCode ?? 0)) {
        finalResponse = response;
        return resolve(response);
      }
      response.resume();
      if (redirectsLeft === 0) return reject(new Error(`too many redirects (last to ${location})`));
      const next = new URL(location, url);
      // Credentials stay with the host they were given for (Hugging Face redirects to its CDN).
      const nextHeaders = next.origin === url.origin ? headers : withoutCredentials(headers);
      resolve(getFollowingRedirects(next, nextHeaders, opts, redirectsLeft - 1));
    });
    request.setTimeout(opts.idleTimeoutMs, () => {
      const error = new Error(`no data from the server for ${opts.idleTimeoutMs / 1000} s`);
      // The body's reader sees this reason rather than a bare "aborted".
      finalResponse?.destroy(error);
      request.destroy(error);
    });
    request.on("error", reject);
  });
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !["authorization", "cookie"].includes(name.toLowerCase())));
}
