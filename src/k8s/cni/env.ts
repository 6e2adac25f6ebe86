/**
 * The CNI environment (SPEC.md "Parameters", 1.1.0): CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
 * CNI_ARGS, CNI_PATH, with what each command requires (as libcni's skel checks them):
 *
 * | variable        | required for                      |
 * | --------------- | --------------------------------- |
 * | CNI_COMMAND     | all                               |
 * | CNI_CONTAINERID | ADD, CHECK, DEL                   |
 * | CNI_NETNS       | ADD, CHECK                        |
 * | CNI_IFNAME      | ADD, CHECK, DEL                   |
 * | CNI_PATH        | ADD, CHECK, DEL, GC, STATUS       |
 *
 * Missing or malformed variables are code 4 (a missing container id: code 3, as libcni answers).
 */
import { CNI_ERR, CniError } from "./errors.js";

export const COMMANDS = ["ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS"] as const;
export type Command = (typeof COMMANDS)[number];

export interface CniEnv {
  command: Command;
  containerID: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs. */
  args: Record<string, string>;
  /** CNI_PATH folders. */
  path: string[];
}

const REQUIRED: Record<string, readonly Command[]> = {
  CNI_CONTAINERID: ["ADD", "CHECK", "DEL"],
  CNI_NETNS: ["ADD", "CHECK"],
  CNI_IFNAME: ["ADD", "CHECK", "DEL"],
  CNI_PATH: ["ADD", "CHECK", "DEL", "GC", "STATUS"],
};

/** Spec: a container id starts with an alphanumeric, then alphanumerics, '_', '.', '-'. */
export const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Throws code 4 unless `name` is a valid interface name (spec: 1-15 chars, not . or .., no / : or spaces). */
export function checkIfname(name: string): void {
  if (name.length === 0 || name.length > 15 || name === "." || name === ".." || /[/:\s]/.test(name)) {
    throw new CniError(CNI_ERR.INVALID_ENV, `Invalid CNI_IFNAME '${name}': 1 to 15 characters, not '.' or '..', without '/', ':' or whitespace`);
  }
}

/** Parses CNI_ARGS ("K=V;K2=V2"); code 4 when a pair has no '='. */
export function parseCniArgs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.trim() === "") return out;
  for (const pair of s.split(";")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CniError(CNI_ERR.INVALID_ENV, `Invalid CNI_ARGS pair '${pair}': expected KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Reads and checks the CNI environment for the command it names. */
export function parseEnv(env: NodeJS.ProcessEnv = process.env): CniEnv {
  const command = env["CNI_COMMAND"];
  if (command === undefined || command === "") throw new CniError(CNI_ERR.INVALID_ENV, "required env variables [CNI_COMMAND] missing");
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CNI_ERR.INVALID_ENV, `unknown CNI_COMMAND: ${command}`, `expected one of ${COMMANDS.join(", ")}`);
  }
  const cmd = command as Command;
  const missing = Object.entries(REQUIRED).filter(([k, cmds]) => cmds.includes(cmd) && !env[k]).map(([k]) => k);
  if (missing.includes("CNI_CONTAINERID")) throw new CniError(CNI_ERR.UNKNOWN_CONTAINER, "missing containerID");
  if (missing.length > 0) throw new CniError(CNI_ERR.INVALID_ENV, `required env variables [${missing.join(",")}] missing`);
  const containerID = env["CNI_CONTAINERID"] ?? "";
  if (containerID !== "" && !CONTAINER_ID_RE.test(containerID)) {
    throw new CniError(CNI_ERR.INVALID_ENV, "invalid characters in containerID", containerID);
  }
  const ifname = env["CNI_IFNAME"] ?? "";
  if (ifname !== "") checkIfname(ifname);
  return {
    command: cmd,
    containerID,
    netns: env["CNI_NETNS"] ?? "",
    ifname,
    args: parseCniArgs(env["CNI_ARGS"] ?? ""),
    path: (env["CNI_PATH"] ?? "").split(":").filter((p) => p !== ""),
  };
}
