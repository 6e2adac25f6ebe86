/**
 * Entry of the single executable `afxdp` (deploy/build-cni.mjs bundles it): the CNI plugin, as
 * `xdplane cni` runs it, without Node.js installed on the node.
 */
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    process.stdout.write(`${JSON.stringify({ cniVersion: "1.1.0", code: 999, msg: e.message })}\n`);
    process.exitCode = 1;
  },
);
