import type { Socket } from "node:net";
import { buildConnector } from "undici";

export interface WarmConnectorOptions {
  /** Connections kept open ahead of need. */
  spares: number;
  /** A spare is replaced by a fresh one at this age (below the server's idle timeout). */
  maxIdleMs: number;
  /** Spares are kept fresh for this long after the last request, then left to lapse. */
  keepWarmMs: number;
  connectTimeoutMs: number;
}

interface Spare {
  socket: Socket;
  /** Detaches the spare's own listeners and timer, when it is used or closed. */
  release: () => void;
}

export interface WarmConnector {
  connect: buildConnector.connector;
  /** Connections open ahead of need now. */
  readonly spares: number;
  close: () => void;
}

/**
 * An undici connector that keeps a few connections to its server open ahead of need, for an
 * upstream that closes its connection after every streamed response (llama-server): a request then
 * goes out on a connection the server has already accepted and handed to a thread, instead of
 * waiting for both. A spare is replaced before the server's idle timeout would close it, for as
 * long as requests keep coming; a server left alone gets no connections.
 */
export function warmConnector(options: WarmConnectorOptions): WarmConnector {
  const plain = buildConnector({ timeout: options.connectTimeoutMs });
  const spares: Spare[] = [];
  let opening = 0;
  let closed = false;
  let lastRequestAt = -Infinity;

  const remove = (spare: Spare): void => {
    const at = spares.indexOf(spare);
    if (at !== -1) spares.splice(at, 1);
    spare.release();
  };

  const topUp = (target: buildConnector.Options): void => {
    const warm = performance.now() - lastRequestAt < options.keepWarmMs;
    for (let n = spares.length + opening; !closed && warm && n < options.spares; n++) open(target);
  };

  const open = (target: buildConnector.Options): void => {
    opening++;
    plain(target, (error, socket) => {
      opening--;
      if (error || !socket) return; // the next request connects on its own and reports what fails
      if (closed) {
        socket.destroy();
        return;
      }
      const drop = (): void => {
        remove(spare);
        socket.destroy();
      };
      const stale = setTimeout(() => {
        drop();
        topUp(target);
      }, options.maxIdleMs).unref();
      const spare: Spare = {
        socket,
        release: () => {
          clearTimeout(stale);
          socket.off("error", drop).off("close", drop).off("end", drop);
        },
      };
      socket.once("error", drop).once("close", drop).once("end", drop);
      socket.unref(); // a spare alone does not keep the process alive
      spares.push(spare);
    });
  };

  return {
    connect(target, callback) {
      lastRequestAt = performance.now();
      const spare = spares.shift();
      if (spare) {
        spare.release();
        // undici expects its connector to answer later, as a connect does, not within the call.
        process.nextTick(callback, null, spare.socket.ref());
      } else {
        plain(target, callback);
      }
      topUp(target);
    },
    get spares() {
      return spares.length;
    },
    close() {
      closed = true;
      for (const spare of spares.splice(0)) {
        spare.release();
        spare.socket.destroy();
      }
    },
  };
}
