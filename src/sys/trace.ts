/**
 * Named tracers switched on by XDPLANE_TRACE (comma-separated names, or "all"), silent otherwise
 * (grpc-js's habit). `trace("xsk", () => "...")` costs a property read when off.
 */
const enabled = new Set((process.env["XDPLANE_TRACE"] ?? "").split(",").map((s) => s.trim()).filter(Boolean));
const all = enabled.has("all") || enabled.has("*");

export function traceEnabled(name: string): boolean {
  return all || enabled.has(name);
}

export function trace(name: string, msg: () => string): void {
  if (all || enabled.has(name)) process.stderr.write(`[${new Date().toISOString()}] ${name}: ${msg()}\n`);
}
