/**
 * The forwarder as telemetry sees it (src/telemetry/model.ts): ports and threads read from the shared
 * counters the workers fill, thread start/stop through their control words, plus the forwarder's own
 * commands on the app socket (`/fwd/mode`, `/fwd/threads`, `/fwd/admin,<port>,<up|down>`).
 */
import type { AppModel } from "../../telemetry/model.js";
import { AppSocket } from "../../telemetry/app-socket.js";
import { cnfModel } from "../../cnf/model.js";
import type { FwdApp } from "./app.js";

/** The forwarder's telemetry model: the framework's (ports, threads, pause/resume). */
export function fwdModel(app: FwdApp): AppModel {
  const cnf = app.framework;
  if (cnf === null) throw new Error("The forwarder is not running: start it before opening its socket");
  return cnfModel(cnf);
}

/** Opens the app socket for a running forwarder and registers its commands. */
export function openFwdSocket(app: FwdApp, opts: { socketDir?: string; log?: (m: string) => void } = {}): AppSocket {
  const sock = AppSocket.open(fwdModel(app), { ...(opts.socketDir ? { socketDir: opts.socketDir } : {}) });
  sock.registerCommand("/fwd/mode", () => ({ mode: app.mode }));
  sock.registerCommand("/fwd/threads", () => ({ threads: app.threadStats().map((t) => ({ ...t })) }));
  sock.registerCommand("/fwd/admin", (params) => {
    const [name, state] = params;
    const port = app.ports.find((p) => p.name === name || String(p.pid) === name);
    if (!port) return { error: `unknown port '${name ?? ""}'` };
    if (state !== "up" && state !== "down") return { error: `expected up or down, got '${state ?? ""}'` };
    port.setAdmin(state === "up");
    return { port: port.name, adminUp: port.isUp() };
  });
  return sock;
}
