/**
 * Graphviz text of a graph (DPDK's rte_graph_export): left to right, source nodes drawn as blue boxes with
 * blue edges, every other edge plain, in node order then edge order. With counts, each edge is labelled
 * with the objects sent along it.
 */
import type { GraphTopology } from "./topology.js";

/** Options of {@link toDot}. */
export interface DotOptions {
  /**
   * Objects sent along each edge, per node name and next-node name (a stats snapshot's `next`): edges are
   * labelled with them.
   */
  edgeCounts?: ReadonlyMap<string, Readonly<Record<string, number>>>;
}

/**
 * The `dot` text of a graph. Node names are restricted (letters, digits, `_.:-`), so quoting them is enough.
 *
 * @example
 * const text = toDot({ name: "g", nodes: [{ name: "rx", next: ["drop"], source: true }, { name: "drop", next: [] }] });
 * // digraph "g" {
 * //   rankdir=LR;
 * //   "rx" [shape=box, color=blue];
 * //   "rx" -> "drop" [color=blue];
 * // }
 */
export function toDot(t: GraphTopology, o: DotOptions = {}): string {
  const lines = [`digraph "${t.name}" {`, "\trankdir=LR;"];
  for (const n of t.nodes) if (n.source) lines.push(`\t"${n.name}" [shape=box, color=blue];`);
  for (const n of t.nodes) {
    const counts = o.edgeCounts?.get(n.name);
    for (const m of n.next) {
      const attrs: string[] = [];
      if (n.source) attrs.push("color=blue");
      if (counts) attrs.push(`label="${counts[m] ?? 0}"`);
      lines.push(`\t"${n.name}" -> "${m}"${attrs.length > 0 ? ` [${attrs.join(", ")}]` : ""};`);
    }
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
