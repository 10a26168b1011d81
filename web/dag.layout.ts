/**
 * A layered left-to-right layout for the workflow graph (web/dag.graph.ts): each node gets a
 * column (its longest path from a start, with starts pulled next to what they feed), nodes in a
 * column are ordered to follow their neighbours (barycentre sweeps), and edges are curves from
 * one node's right side to the next one's left side.
 *
 * Written here rather than taken from a library: none is in node_modules, the graphs are small
 * (tens of nodes, bounded by the builder's caps), and the well-kept choices cost more than the
 * whole dashboard's own code (elkjs is over 1 MB; dagre is unmaintained and pulls in lodash).
 * Deterministic: the same graph gives the same coordinates (ties keep the builder's order), which
 * keeps the drawing still between refreshes and the unit tests exact.
 */
import type { DagEdge, DagEdgeKind, DagGraph, DagNode } from './dag.graph.js';

export const dagMetrics = {
  nodeWidth: 230,
  headerHeight: 22,
  lineHeight: 16,
  badgeHeight: 22,
  padding: 8,
  columnGap: 64,
  rowGap: 16,
  margin: 16,
  /** Room under the columns for edges that go back to an earlier column. */
  backEdgeRoom: 36,
} as const;

export interface PlacedNode {
  node: DagNode;
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  kind: DagEdgeKind;
  label?: string;
  /** An SVG path. */
  path: string;
  labelX: number;
  labelY: number;
  /** Goes back to an earlier column (a cycle the graph holds, drawn under the columns). */
  back: boolean;
}

export interface DagLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

/** A node's height: heading, its lines, and one line for the jobs badge (kept even when empty, so the drawing does not jump as jobs come and go). */
export function nodeHeight(node: DagNode): number {
  return dagMetrics.padding * 2 + dagMetrics.headerHeight + node.lines.length * dagMetrics.lineHeight + dagMetrics.badgeHeight;
}

export function layoutDag(graph: DagGraph): DagLayout {
  const index = new Map(graph.nodes.map((node, position) => [node.id, position]));
  const edges = graph.edges.filter((edge) => index.has(edge.from) && index.has(edge.to) && edge.from !== edge.to);
  const back = findBackEdges(graph.nodes, edges);
  const forward = edges.filter((edge) => !back.has(edge));

  const successors = new Map<string, string[]>(graph.nodes.map((node) => [node.id, []]));
  const predecessors = new Map<string, string[]>(graph.nodes.map((node) => [node.id, []]));
  for (const edge of forward) {
    successors.get(edge.from)!.push(edge.to);
    predecessors.get(edge.to)!.push(edge.from);
  }

  // Longest path from a start, in topological order (Kahn's, taking nodes in the builder's order).
  const layer = new Map<string, number>();
  const waiting = new Map(graph.nodes.map((node) => [node.id, predecessors.get(node.id)!.length]));
  const ready = graph.nodes.filter((node) => waiting.get(node.id) === 0).map((node) => node.id);
  const order: string[] = [];
  while (ready.length) {
    ready.sort((a, b) => index.get(a)! - index.get(b)!);
    const id = ready.shift()!;
    order.push(id);
    const own = Math.max(0, ...predecessors.get(id)!.map((from) => layer.get(from)! + 1));
    layer.set(id, own);
    for (const to of successors.get(id)!) {
      waiting.set(to, waiting.get(to)! - 1);
      if (waiting.get(to) === 0) ready.push(to);
    }
  }
  // A start sits just before the first thing it feeds (a source rule next to validation, not a column early because a schedule feeds another rule).
  for (const id of [...order].reverse()) {
    const next = successors.get(id)!;
    if (predecessors.get(id)!.length === 0 && next.length) layer.set(id, Math.min(...next.map((to) => layer.get(to)!)) - 1);
  }
  const layerCount = Math.max(0, ...layer.values()) + 1;

  // Columns, then barycentre sweeps: down by predecessors, up by successors; stable, so ties keep the builder's order.
  const columns: string[][] = Array.from({ length: layerCount }, () => []);
  for (const node of graph.nodes) columns[layer.get(node.id)!]!.push(node.id);
  const position = new Map<string, number>();
  const remember = (): void => columns.forEach((column) => column.forEach((id, row) => position.set(id, row)));
  remember();
  const sweep = (neighbours: Map<string, string[]>, columnOrder: number[]): void => {
    for (const at of columnOrder) {
      const column = columns[at]!;
      const key = new Map(
        column.map((id) => {
          const near = neighbours.get(id)!;
          return [id, near.length ? near.reduce((sum, other) => sum + position.get(other)!, 0) / near.length : position.get(id)!];
        }),
      );
      column.sort((a, b) => key.get(a)! - key.get(b)! || position.get(a)! - position.get(b)!);
      column.forEach((id, row) => position.set(id, row));
    }
  };
  const down = Array.from({ length: layerCount }, (_, at) => at).slice(1);
  const up = Array.from({ length: layerCount }, (_, at) => layerCount - 1 - at).slice(1);
  for (let round = 0; round < 3; round += 1) {
    sweep(predecessors, down);
    sweep(successors, up);
  }

  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const columnHeight = columns.map((column) => column.reduce((sum, id) => sum + nodeHeight(byId.get(id)!), 0) + Math.max(0, column.length - 1) * dagMetrics.rowGap);
  const tallest = Math.max(0, ...columnHeight);
  const placed = new Map<string, PlacedNode>();
  columns.forEach((column, at) => {
    let y = dagMetrics.margin + (tallest - columnHeight[at]!) / 2;
    const x = dagMetrics.margin + at * (dagMetrics.nodeWidth + dagMetrics.columnGap);
    for (const id of column) {
      const node = byId.get(id)!;
      const height = nodeHeight(node);
      placed.set(id, { node, layer: at, x, y: Math.round(y), width: dagMetrics.nodeWidth, height });
      y += height + dagMetrics.rowGap;
    }
  });

  const hasBack = back.size > 0;
  const bottom = dagMetrics.margin + tallest;
  const placedEdges = edges.map((edge) => drawEdge(edge, placed.get(edge.from)!, placed.get(edge.to)!, back.has(edge), bottom));
  return {
    width: dagMetrics.margin * 2 + layerCount * dagMetrics.nodeWidth + Math.max(0, layerCount - 1) * dagMetrics.columnGap,
    height: dagMetrics.margin * 2 + tallest + (hasBack ? dagMetrics.backEdgeRoom : 0),
    // Drawn (and tabbed through) column by column, top to bottom.
    nodes: [...placed.values()].sort((a, b) => a.layer - b.layer || a.y - b.y),
    edges: placedEdges,
  };
}

/** Edges that close a cycle, found depth-first in the builder's order: they are left out of the layering. */
function findBackEdges(nodes: readonly DagNode[], edges: readonly DagEdge[]): Set<DagEdge> {
  const out = new Map<string, DagEdge[]>(nodes.map((node) => [node.id, []]));
  for (const edge of edges) out.get(edge.from)!.push(edge);
  const state = new Map<string, 'open' | 'done'>();
  const back = new Set<DagEdge>();
  for (const start of nodes) {
    if (state.has(start.id)) continue;
    // Iterative depth-first search: a definition cannot make the recursion deep.
    const stack: Array<{ id: string; next: number }> = [{ id: start.id, next: 0 }];
    state.set(start.id, 'open');
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const leaving = out.get(top.id)!;
      if (top.next >= leaving.length) {
        state.set(top.id, 'done');
        stack.pop();
        continue;
      }
      const edge = leaving[top.next++]!;
      const seen = state.get(edge.to);
      if (seen === 'open') back.add(edge);
      else if (!seen) {
        state.set(edge.to, 'open');
        stack.push({ id: edge.to, next: 0 });
      }
    }
  }
  return back;
}

const round = (value: number): number => Math.round(value * 10) / 10;

function drawEdge(edge: DagEdge, from: PlacedNode, to: PlacedNode, back: boolean, bottom: number): PlacedEdge {
  const common = { from: edge.from, to: edge.to, kind: edge.kind, ...(edge.label ? { label: edge.label } : {}), back };
  if (back) {
    // Under the columns: from the bottom of one node down, across, and up into the other.
    const x1 = from.x + from.width / 2;
    const y1 = from.y + from.height;
    const x2 = to.x + to.width / 2;
    const y2 = to.y + to.height;
    const low = bottom + dagMetrics.backEdgeRoom - 8;
    return { ...common, path: `M ${round(x1)} ${round(y1)} C ${round(x1)} ${round(low)}, ${round(x2)} ${round(low)}, ${round(x2)} ${round(y2)}`, labelX: round((x1 + x2) / 2), labelY: round(low - 4) };
  }
  const x1 = from.x + from.width;
  const y1 = from.y + from.height / 2;
  const x2 = to.x;
  const y2 = to.y + to.height / 2;
  const bend = Math.max(24, (x2 - x1) / 2);
  return { ...common, path: `M ${round(x1)} ${round(y1)} C ${round(x1 + bend)} ${round(y1)}, ${round(x2 - bend)} ${round(y2)}, ${round(x2)} ${round(y2)}`, labelX: round((x1 + x2) / 2), labelY: round((y1 + y2) / 2 - 4) };
}
