/**
 * Named tracers switched on by XDPLANE_TRACE (comma-separated names, or "all"), silent otherwise
 * (grpc-js's habit). `trace("xsk", () => "...")` costs a property read when off. The variable is read
 * at the first trace call, not at import; {@link setTrace} changes the set at run time (tests, CLIs).
 */
let enabled: Set<string> | null = null;
let all = false;

/** Replaces the enabled tracers (same syntax as XDPLANE_TRACE). */
export function setTrace(spec: string): void {
  enabled = new Set(spec.split(",").map((s) => s.trim()).filter(Boolean));
  all = enabled.has("all") || enabled.has("*");
}

function tracers(): Set<string> {
  if (enabled === null) setTrace(process.env["XDPLANE_TRACE"] ?? "");
  return enabled!;
}

export function traceEnabled(name: string): boolean {
  const on = tracers();
  return all || on.has(name);
}

export function trace(name: string, msg: () => string): void {
  if (traceEnabled(name)) process.stderr.write(`[${new Date().toISOString()}] ${name}: ${msg()}\n`);
}
