// A machine graph drawn as an SVG statechart. Each compound state lays its children out left to right in
// columns (a state comes after the states leading to it). Arrows to the next column cross the gap between
// them with their event names in the gap; every other arrow (skipping columns, going back) gets its own
// horizontal lane above or below the children, its names written on the lane, so no two labels collide.
// Every state is a <g class="state" data-state="<id>"> for the page to highlight.
import type { MachineGraph, StateGraphNode } from './graph.ts';
import { mergedEdges, type MergedEdge } from './mermaid.ts';

interface Box {
  node: StateGraphNode;
  x: number;
  y: number;
  w: number;
  h: number;
  children: Box[];
  /** lanes of this compound, relative to its top (above) or bottom (below) */
  lanes: Lane[];
  direct: MergedEdge[];
  loops: MergedEdge[];
}

interface Lane {
  edge: MergedEdge;
  above: boolean;
  /** y relative to the box */
  y: number;
}

const FONT = 12;
const CHAR = 7;
const LABEL_CHAR = 6.3;
const ATOM_H = 34;
const HEADER = 24;
const PAD = 14;
const LANE = 18;
const LOOP_SPACE = 34;
const ROW_GAP = 26;
const LINE = 14;

const textWidth = (text: string): number => text.length * CHAR;
const labelWidth = (text: string): number => text.length * LABEL_CHAR + 10;
const f = (n: number): string => n.toFixed(1);

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const within = (id: string, ancestor: string): boolean => id === ancestor || id.startsWith(`${ancestor}.`);

/** The child of `parent` that contains state `id` (or is it). */
function childContaining(parent: StateGraphNode, id: string): StateGraphNode | undefined {
  return parent.children.find((c) => within(id, c.id));
}

/** The compound whose children separate the two ends of an edge: where it is drawn. */
function edgeLevel(root: StateGraphNode, edge: MergedEdge): StateGraphNode {
  let level = root;
  for (;;) {
    const a = childContaining(level, edge.source);
    const b = childContaining(level, edge.target);
    if (!a || !b || a !== b || a.children.length === 0) return level;
    if (edge.source === a.id || edge.target === a.id) return level;
    level = a;
  }
}

/** Column of each child: longest path from the initial child, back edges ignored. */
function ranks(node: StateGraphNode, edges: readonly MergedEdge[]): Map<StateGraphNode, number> {
  const next = new Map<StateGraphNode, Set<StateGraphNode>>();
  for (const child of node.children) next.set(child, new Set());
  for (const edge of edges) {
    const from = childContaining(node, edge.source);
    const to = childContaining(node, edge.target);
    if (from && to && from !== to) next.get(from)!.add(to);
  }
  const order: StateGraphNode[] = [];
  const forward = new Map<StateGraphNode, StateGraphNode[]>();
  const onStack = new Set<StateGraphNode>();
  const seen = new Set<StateGraphNode>();
  const visit = (n: StateGraphNode): void => {
    seen.add(n);
    onStack.add(n);
    const kept: StateGraphNode[] = [];
    for (const m of next.get(n)!) {
      if (onStack.has(m)) continue;
      kept.push(m);
      if (!seen.has(m)) visit(m);
    }
    forward.set(n, kept);
    onStack.delete(n);
    order.push(n);
  };
  const initial = node.children.find((c) => c.id === node.initial);
  if (initial) visit(initial);
  for (const child of node.children) if (!seen.has(child)) visit(child);
  const rank = new Map<StateGraphNode, number>();
  order.reverse();
  for (const n of order) if (!rank.has(n)) rank.set(n, 0);
  for (const n of order) for (const m of forward.get(n)!) rank.set(m, Math.max(rank.get(m) ?? 0, rank.get(n)! + 1));
  return rank;
}

function measure(node: StateGraphNode, byLevel: Map<StateGraphNode, MergedEdge[]>, isRoot: boolean): Box {
  const box: Box = { node, x: 0, y: 0, w: 0, h: ATOM_H, children: [], lanes: [], direct: [], loops: [] };
  if (node.children.length === 0) {
    box.w = Math.max(96, textWidth(node.key) + 28);
    return box;
  }
  const edges = byLevel.get(node) ?? [];
  const childBoxes = new Map(node.children.map((c) => [c, measure(c, byLevel, false)]));
  box.children = [...childBoxes.values()];
  const top = isRoot ? 6 : HEADER;

  if (node.type === 'parallel') {
    // regions side by side, dashed; arrows between regions are rare and drawn straight
    let x = PAD;
    const h = Math.max(...box.children.map((b) => b.h));
    for (const child of box.children) {
      child.x = x;
      child.y = top;
      child.h = h;
      x += child.w + PAD;
    }
    box.direct = edges.filter((e) => e.source !== e.target);
    box.loops = edges.filter((e) => e.source === e.target);
    box.w = Math.max(x, textWidth(`${node.key} (parallel)`) + 2 * PAD);
    box.h = top + h + PAD;
    return box;
  }

  const rank = ranks(node, edges);
  const columns: Box[][] = [];
  for (const child of node.children) (columns[rank.get(child)!] ??= []).push(childBoxes.get(child)!);
  const cols = columns.filter((c) => c !== undefined);
  const colOf = new Map<StateGraphNode, number>();
  cols.forEach((column, i) => column.forEach((b) => colOf.set(b.node, i)));

  const gaps = new Array<number>(Math.max(0, cols.length - 1)).fill(60);
  const lanesAbove: MergedEdge[] = [];
  const lanesBelow: MergedEdge[] = [];
  for (const edge of edges) {
    if (edge.source === edge.target) {
      box.loops.push(edge);
      continue;
    }
    const from = childContaining(node, edge.source);
    const to = childContaining(node, edge.target);
    const a = from ? colOf.get(from) : undefined;
    const b = to ? colOf.get(to) : undefined;
    if (a === undefined || b === undefined) continue;
    if (b === a + 1) {
      box.direct.push(edge);
      gaps[a] = Math.max(gaps[a]!, Math.max(...edge.labels.map(labelWidth)) + 36);
    } else if (b > a) lanesAbove.push(edge);
    else lanesBelow.push(edge);
  }
  const loopSpace = box.loops.length > 0 ? LOOP_SPACE + (Math.max(...box.loops.map((e) => e.labels.length)) - 1) * LINE : 0;
  const aboveSpace = lanesAbove.length * LANE + (lanesAbove.length > 0 ? 8 : 0);
  const contentTop = top + loopSpace + aboveSpace;
  const heights = cols.map((column) => column.reduce((sum, b) => sum + b.h, 0) + ROW_GAP * (column.length - 1));
  const inner = Math.max(...heights);
  let x = PAD + (node.initial ? 22 : 0);
  const loopWidth = (b: Box): number =>
    Math.max(0, ...box.loops.filter((e) => e.source === b.node.id).flatMap((e) => e.labels.map(labelWidth)));
  cols.forEach((column, i) => {
    const width = Math.max(...column.map((b) => Math.max(b.w, loopWidth(b))));
    let y = contentTop + (inner - heights[i]!) / 2;
    for (const child of column) {
      child.x = x + (width - child.w) / 2;
      child.y = y;
      y += child.h + ROW_GAP;
    }
    x += width + (gaps[i] ?? 0);
  });
  let w = x + PAD;
  lanesAbove.forEach((edge, i) => box.lanes.push({ edge, above: true, y: top + 12 + i * LANE }));
  const bottom = contentTop + inner + 10;
  lanesBelow.forEach((edge, i) => box.lanes.push({ edge, above: false, y: bottom + i * LANE + 8 }));
  // a lane's label may run past the last column
  for (const lane of box.lanes) w = Math.max(w, laneLabelStart(box, lane) + labelWidth(lane.edge.labels.join(', ')) + PAD);
  box.w = Math.max(w, textWidth(node.key) + 2 * PAD);
  box.h = bottom + lanesBelow.length * LANE + (lanesBelow.length > 0 ? 8 : 0) + PAD - 6;
  return box;
}

/** Relative x where a lane's label starts: just after the leftmost end of the lane. */
function laneLabelStart(box: Box, lane: Lane): number {
  const ends = box.children.filter((c) => within(lane.edge.source, c.node.id) || within(lane.edge.target, c.node.id));
  return Math.min(...ends.map((c) => c.x + c.w / 2)) + 8;
}

function place(box: Box, dx: number, dy: number, out: Map<string, Box>): void {
  box.x += dx;
  box.y += dy;
  out.set(box.node.id, box);
  for (const child of box.children) place(child, box.x, box.y, out);
}

interface Label {
  text: string;
  x: number;
  y: number;
  anchor: 'start' | 'middle';
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

function labelRect(l: Label): Rect {
  const w = labelWidth(l.text);
  return { x: l.anchor === 'middle' ? l.x - w / 2 : l.x - 4, y: l.y - 11, w, h: 15 };
}

const overlaps = (a: Rect, b: Rect): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Labels placed in drawing order; one that would cover an earlier label or a state's name moves down, then up,
 * a line at a time, to the nearest free place, so no two texts overlap whatever the layout produced.
 */
function separate(labels: Label[], obstacles: Rect[]): void {
  const placed: Rect[] = [...obstacles];
  for (const l of labels) {
    const base = l.y;
    for (let step = 0; step < 40; step++) {
      const shift = step === 0 ? 0 : Math.ceil(step / 2) * (step % 2 === 1 ? 1 : -1) * 8;
      l.y = base + shift;
      const r = labelRect(l);
      if (!placed.some((p) => overlaps(p, r))) break;
      if (step === 39) l.y = base;
    }
    placed.push(labelRect(l));
  }
}

function label(l: Label): string {
  const r = labelRect(l);
  return (
    `<rect class="label-bg" x="${f(r.x)}" y="${f(r.y)}" width="${f(r.w)}" height="${f(r.h)}" rx="3" fill="#fff" fill-opacity="0.9"/>` +
    `<text class="label" x="${f(l.x)}" y="${f(l.y)}" text-anchor="${l.anchor}" font-size="11">${escapeXml(l.text)}</text>`
  );
}

export function statechartSvg(graph: MachineGraph): string {
  const all = mergedEdges(graph);
  const fromAny = all.filter((e) => e.source === graph.id);
  const byLevel = new Map<StateGraphNode, MergedEdge[]>();
  for (const edge of all) {
    if (edge.source === graph.id) continue;
    const level = edgeLevel(graph.root, edge);
    const list = byLevel.get(level) ?? [];
    list.push(edge);
    byLevel.set(level, list);
  }
  const root = measure(graph.root, byLevel, true);
  const anyTop = fromAny.length > 0 ? 44 : 0;
  const boxes = new Map<string, Box>();
  place(root, 0, anyTop, boxes);
  const shapes: string[] = [];
  const arrows: string[] = [];
  const labels: Label[] = [];
  const obstacles: Rect[] = [];
  const arrow = (edge: MergedEdge, d: string): void => {
    arrows.push(
      `<path class="edge" data-source="${escapeXml(edge.source)}" data-target="${escapeXml(edge.target)}" d="${d}" fill="none" stroke="#4a5568" marker-end="url(#arrow)"/>`,
    );
  };

  const drawBox = (box: Box, inRegion: boolean): void => {
    const n = box.node;
    if (n !== graph.root) {
      const classes = ['state', n.type, inRegion ? 'region' : ''].filter(Boolean).join(' ');
      const dash = inRegion ? ' stroke-dasharray="5 4"' : '';
      const fill = n.children.length > 0 ? '#f7f9fc' : '#fff';
      shapes.push(`<g class="${classes}" data-state="${escapeXml(n.id)}">`);
      shapes.push(
        `<rect x="${f(box.x)}" y="${f(box.y)}" width="${f(box.w)}" height="${f(box.h)}" rx="8" fill="${fill}" stroke="#5b6b82"${dash}/>`,
      );
      if (n.type === 'final') {
        shapes.push(
          `<rect x="${f(box.x + 3)}" y="${f(box.y + 3)}" width="${f(box.w - 6)}" height="${f(box.h - 6)}" rx="6" fill="none" stroke="#5b6b82"/>`,
        );
      }
      if (n.children.length === 0) {
        obstacles.push({ x: box.x + box.w / 2 - textWidth(n.key) / 2, y: box.y + box.h / 2 - 8, w: textWidth(n.key), h: 16 });
        shapes.push(
          `<text x="${f(box.x + box.w / 2)}" y="${f(box.y + box.h / 2 + 4)}" text-anchor="middle" font-size="${FONT}">${escapeXml(n.key)}</text>`,
        );
      } else {
        const suffix = n.type === 'parallel' ? ' (parallel)' : '';
        obstacles.push({ x: box.x + 6, y: box.y + 4, w: textWidth(n.key + suffix) + 8, h: 16 });
        shapes.push(
          `<text x="${f(box.x + 10)}" y="${f(box.y + 16)}" font-size="${FONT}" font-weight="bold">${escapeXml(n.key + suffix)}</text>`,
        );
      }
      shapes.push('</g>');
    }
    for (const child of box.children) drawBox(child, n.type === 'parallel');
    drawEdges(box);
    const initial = n.initial ? boxes.get(n.initial) : undefined;
    if (initial) {
      const y = initial.y + initial.h / 2;
      shapes.push(`<circle class="initial" cx="${f(initial.x - 18)}" cy="${f(y)}" r="4" fill="#333"/>`);
      arrows.push(
        `<path class="edge initial" d="M${f(initial.x - 14)},${f(y)} L${f(initial.x - 1)},${f(y)}" stroke="#333" marker-end="url(#arrow)"/>`,
      );
    }
  };

  const drawEdges = (box: Box): void => {
    for (const edge of box.direct) {
      const s = boxes.get(edge.source);
      const t = boxes.get(edge.target);
      if (!s || !t) continue;
      const sx = s.x + s.w;
      const sy = s.y + s.h / 2;
      const tx = t.x;
      const ty = t.y + t.h / 2;
      const mx = (sx + tx) / 2;
      arrow(edge, `M${f(sx)},${f(sy)} C${f(mx)},${f(sy)} ${f(mx)},${f(ty)} ${f(tx - 1)},${f(ty)}`);
      const lines = edge.labels;
      const midY = (sy + ty) / 2 - ((lines.length - 1) * 14) / 2 - 3;
      lines.forEach((line, i) => labels.push({ text: line, x: mx, y: midY + i * LINE, anchor: 'middle' }));
    }
    for (const edge of box.loops) {
      const s = boxes.get(edge.source);
      if (!s) continue;
      const x = s.x + s.w / 2;
      const y = s.y;
      arrow(edge, `M${f(x - 12)},${f(y)} C${f(x - 18)},${f(y - 24)} ${f(x + 18)},${f(y - 24)} ${f(x + 12)},${f(y - 1)}`);
      edge.labels.forEach((line, i, all) => labels.push({ text: line, x, y: y - 22 - (all.length - 1 - i) * LINE, anchor: 'middle' }));
    }
    box.lanes.forEach((lane, i) => {
      const s = boxes.get(lane.edge.source);
      const t = boxes.get(lane.edge.target);
      if (!s || !t) return;
      const y = box.y + lane.y;
      const spread = ((i % 3) - 1) * 8;
      const sx = s.x + s.w / 2 + spread;
      const tx = t.x + t.w / 2 + spread + 4;
      const sEdge = lane.above ? s.y : s.y + s.h;
      const tEdge = lane.above ? t.y - 1 : t.y + t.h + 1;
      arrow(lane.edge, `M${f(sx)},${f(sEdge)} L${f(sx)},${f(y)} L${f(tx)},${f(y)} L${f(tx)},${f(tEdge)}`);
      labels.push({ text: lane.edge.labels.join(', '), x: laneLabelStart(box, lane) + 6, y: y - 3, anchor: 'start' });
    });
  };

  drawBox(root, false);
  if (fromAny.length > 0) {
    // transitions declared on the machine itself: taken whatever the state
    shapes.push(
      `<g class="any-state"><rect x="${PAD}" y="6" width="96" height="26" rx="13" fill="#fff" stroke="#8a94a6" stroke-dasharray="4 4"/>` +
        `<text x="${PAD + 48}" y="23" text-anchor="middle" font-size="11" fill="#555">any state</text></g>`,
    );
    fromAny.forEach((edge, i) => {
      const t = boxes.get(edge.target);
      if (!t) return;
      const y = 19 + i * 4;
      const tx = t.x + t.w / 2 + 16;
      arrow(edge, `M${PAD + 96},${f(y)} L${f(tx)},${f(y)} L${f(tx)},${f(t.y - 1)}`);
      labels.push({ text: edge.labels.join(', '), x: PAD + 110, y: y - 4, anchor: 'start' });
    });
  }

  separate(labels, obstacles);
  const width = Math.ceil(root.w + 2);
  const height = Math.ceil(root.h + anyTop + 2);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" data-machine="${escapeXml(graph.id)}" viewBox="-1 -1 ${width} ${height}" width="${width}" height="${height}" font-family="system-ui, sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a5568"/></marker></defs>',
    ...shapes,
    ...arrows,
    ...labels.map(label),
    '</svg>',
  ].join('\n');
}
