import type { Socket } from "node:net";
import { buildConnector } from "undici";

/**
 * How long a connection opened ahead may wait for its request: llama-server's HTTP library
 * closes one that has sent nothing for 5 s, and a request written into it just then is lost.
 */
export const SPARE_MAX_IDLE_MS = 3_000;

/**
 * undici's connector to a llama-server child with one connection opened ahead. A generation
 * request takes the waiting socket, its connect already done (a connect costs a third of a
 * millisecond of the time to first token on a 2-core VM), and the next is opened once this
 * event-loop turn's work is done; a spare past `maxIdleMs` is replaced by a new one. Each
 * connection still carries one request (the engine's agent keeps none alive), so a reused
 * connection's race with the server closing it cannot occur.
 */
export function spareConnector(options: { socketPath: string; timeout: number }, maxIdleMs = SPARE_MAX_IDLE_MS) {
  const connect = buildConnector(options);
  let spare: { socket: Socket; gone: () => void } | undefined;
  let opening = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let lastOptions: buildConnector.Options | undefined;

  const take = (): Socket | undefined => {
    if (!spare) return undefined;
    const { socket, gone } = spare;
    spare = undefined;
    clearTimeout(timer);
    socket.off("end", gone).off("close", gone);
    if (socket.destroyed || socket.readyState !== "open") {
      socket.destroy();
      return undefined;
    }
    return socket;
  };
  const open = (): void => {
    if (closed || opening || spare || !lastOptions) return;
    opening = true;
    connect(lastOptions, (error, socket) => {
      opening = false;
      if (error || !socket) return; // the next request connects for itself
      if (closed) {
        socket.destroy();
        return;
      }
      const net = socket as Socket;
      // Closed by the server (it restarted, or timed the connection out): forgotten.
      const gone = (): void => {
        if (spare?.socket === net) take();
        net.destroy();
      };
      spare = { socket: net, gone };
      net.once("end", gone).once("close", gone);
      // Replaced before llama-server gives up on it; unref'd, so it keeps no process alive.
      timer = setTimeout(() => {
        take()?.destroy();
        open();
      }, maxIdleMs).unref();
    });
  };
  const connector = (connectOptions: buildConnector.Options, callback: buildConnector.Callback): void => {
    lastOptions = connectOptions;
    const socket = take();
    // Answered later, as a connect is: undici's dispatch loop does not expect its callback within the call.
    if (socket) queueMicrotask(() => callback(null, socket));
    else connect(connectOptions, callback);
    // After the request has been written, not before.
    setImmediate(open);
  };
  return Object.assign(connector, {
    /** Closes the waiting connection and opens no more (the child is going away). */
    close(): void {
      closed = true;
      take()?.destroy();
    },
  });
}
