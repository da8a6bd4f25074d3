/**
 * The stage diagram of a flow, laid out here (pure, unit-tested) and drawn as SVG by the /flows
 * page: one box per stage in file order (the first is where a call starts), listing its purpose,
 * functions, keys and the ways it ends the call; one arrow per move to another stage (a
 * transition after a function or a silence, a key), routed in its own lane on the right so
 * arrows never share a vertical segment. Keys that work in every stage are notes above.
 */
import type { ConfigAction, Flow, Stage, TransitionConfig } from './schema.js';

export const BOX_WIDTH = 340;
const MARGIN = 16;
const HEADER = 24;
const LINE = 16;
const GAP = 28;
const OUT_STEP = 16;
const IN_STEP = 10;
const LANE_STEP = 14;
const CHAR_PX = 6.5;
export const MAX_CHARS = 50;

export type LineKind = 'purpose' | 'function' | 'key' | 'exit' | 'enter';

export interface DiagramLine {
  kind: LineKind;
  /** One line, clipped to fit the box. */
  text: string;
  /** The whole text when `text` was clipped (the page shows it on hover). */
  full?: string;
}

export interface DiagramNode {
  stage: string;
  start: boolean;
  x: number;
  y: number;
  width: number;
  height: number;
  lines: DiagramLine[];
}

export type EdgeKind = 'function' | 'silence' | 'key' | 'enter' | 'exit';

export interface DiagramEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  label: string;
  /** Polyline from the source box's right side to the target box's right side (the arrowhead's end). */
  points: Array<[number, number]>;
  /** Where the label's text starts (left, baseline). */
  labelAt: [number, number];
}

export interface DiagramLayout {
  width: number;
  height: number;
  /** Keys that work in every stage (flow-level dtmf). */
  notes: string[];
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

interface Move {
  from: string;
  to: string;
  kind: EdgeKind;
  label: string;
}

/** Shortens text for a box line (one line, at most `max` characters). */
export function clip(text: string, max = MAX_CHARS): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** "after book_appointment if status = booked", "after 8 s of silence". */
export function conditionOf(t: TransitionConfig): string {
  if (t.onSilence) return `after ${formatSeconds(t.onSilence.afterMs)} of silence`;
  const when = t.when;
  if (!when) return `after ${t.onFunction ?? '?'}`;
  const test = when.exists !== undefined ? (when.exists ? 'is set' : 'is not set') : when.in !== undefined ? `in ${when.in.join(', ')}` : `= ${String(when.equals)}`;
  return `after ${t.onFunction ?? '?'} if ${when.field} ${test}`;
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/** What an action does besides moving to a stage: "say “…”", "transfer to front-desk", "end call". */
export function actionText(a: ConfigAction, flow: Pick<Flow, 'transfers'>): string {
  const parts: string[] = [];
  if (a.say !== undefined) parts.push(`say “${clip(a.say, 24)}”`);
  if (a.transfer !== undefined) parts.push(`transfer to ${a.transfer}${flow.transfers[a.transfer] ? ` (${flow.transfers[a.transfer]})` : ''}`);
  if (a.endCall !== undefined) parts.push('end call');
  if (a.goTo !== undefined) parts.push(`go to ${a.goTo}`);
  return parts.join(', then ') || 'nothing';
}

function line(kind: LineKind, text: string): DiagramLine {
  const whole = text.replace(/\s+/g, ' ').trim();
  const clipped = clip(whole);
  return clipped === whole ? { kind, text: whole } : { kind, text: clipped, full: whole };
}

/** The box lines of a stage, and its moves to other stages. */
function describeStage(stage: Stage, flow: Flow, names: ReadonlySet<string>): { lines: DiagramLine[]; moves: Move[] } {
  const lines: DiagramLine[] = [line('purpose', stage.purpose)];
  const moves: Move[] = [];
  if (stage.functions.length > 0) lines.push(line('function', `ƒ ${stage.functions.join(', ')}`));
  for (const a of stage.onEnter) lines.push(line('enter', `on enter: ${actionText(a, flow)}`));
  for (const a of stage.onExit) lines.push(line('enter', `on exit: ${actionText(a, flow)}`));
  for (const [key, a] of Object.entries(stage.dtmf)) {
    if (a.goTo !== undefined && names.has(a.goTo)) moves.push({ from: stage.name, to: a.goTo, kind: 'key', label: `key ${key}` });
    if (a.goTo === undefined || a.say !== undefined || a.transfer !== undefined || a.endCall !== undefined) {
      lines.push(line('key', `key ${key} → ${actionText({ ...a, goTo: undefined }, flow)}`));
    }
  }
  for (const t of stage.transitions) {
    const condition = conditionOf(t);
    if (t.goTo !== undefined && names.has(t.goTo)) moves.push({ from: stage.name, to: t.goTo, kind: t.onSilence ? 'silence' : 'function', label: condition });
    const rest = { ...t, goTo: undefined };
    if (rest.say !== undefined || rest.transfer !== undefined || rest.endCall !== undefined) {
      lines.push(line('exit', `${condition} → ${actionText(rest, flow)}`));
    }
  }
  return { lines, moves };
}

/** Lays out a validated flow's stages and moves. */
export function layoutFlow(flow: Flow): DiagramLayout {
  const names = new Set(flow.stages.map((s) => s.name));
  const notes = Object.entries(flow.dtmf).map(([key, a]) => clip(`Any stage: key ${key} → ${actionText(a, flow)}`, 80));
  const described = flow.stages.map((s) => ({ stage: s, ...describeStage(s, flow, names) }));
  const moves = described.flatMap((d) => d.moves);
  const outCount = new Map<string, number>();
  const inCount = new Map<string, number>();
  for (const m of moves) {
    outCount.set(m.from, (outCount.get(m.from) ?? 0) + 1);
    inCount.set(m.to, (inCount.get(m.to) ?? 0) + 1);
  }
  let y = MARGIN + notes.length * LINE + (notes.length > 0 ? 8 : 0);
  const nodes: DiagramNode[] = described.map((d, i) => {
    const forLines = HEADER + d.lines.length * LINE + 8;
    const forAnchors = HEADER + (outCount.get(d.stage.name) ?? 0) * OUT_STEP + (inCount.get(d.stage.name) ?? 0) * IN_STEP + 8;
    const node: DiagramNode = { stage: d.stage.name, start: i === 0, x: MARGIN, y, width: BOX_WIDTH, height: Math.max(forLines, forAnchors), lines: d.lines };
    y += node.height + GAP;
    return node;
  });
  const edges = routeEdges(moves, nodes);
  const lanesRight = MARGIN + BOX_WIDTH + (edges.length + 1) * LANE_STEP;
  const labelsRight = Math.max(0, ...edges.map((e) => e.labelAt[0] + e.label.length * CHAR_PX));
  const notesRight = MARGIN + Math.max(0, ...notes.map((n) => n.length * CHAR_PX));
  return {
    width: Math.ceil(Math.max(MARGIN + BOX_WIDTH, lanesRight, labelsRight, notesRight) + MARGIN),
    height: Math.ceil(Math.max(y - GAP, MARGIN) + MARGIN),
    notes,
    nodes,
    edges,
  };
}

/** One lane per move (shorter spans nearer the boxes); anchors spread down each box's right side. */
function routeEdges(moves: readonly Move[], nodes: readonly DiagramNode[]): DiagramEdge[] {
  const byStage = new Map(nodes.map((n, i) => [n.stage, { node: n, index: i }]));
  const span = (m: Move) => Math.abs(byStage.get(m.to)!.index - byStage.get(m.from)!.index);
  const order = moves.map((m, i) => ({ m, i })).sort((a, b) => span(a.m) - span(b.m) || a.i - b.i);
  const lane = new Map(order.map(({ i }, rank) => [i, rank]));
  const outUsed = new Map<string, number>();
  const inUsed = new Map<string, number>();
  return moves.map((m, i) => {
    const src = byStage.get(m.from)!.node;
    const dst = byStage.get(m.to)!.node;
    const k = outUsed.get(m.from) ?? 0;
    outUsed.set(m.from, k + 1);
    const j = inUsed.get(m.to) ?? 0;
    inUsed.set(m.to, j + 1);
    const right = MARGIN + BOX_WIDTH;
    const laneX = right + (lane.get(i)! + 1) * LANE_STEP;
    const y1 = src.y + HEADER + k * OUT_STEP;
    const y2 = dst.y + dst.height - 8 - j * IN_STEP;
    return {
      from: m.from,
      to: m.to,
      kind: m.kind,
      label: m.label,
      points: [[right, y1], [laneX, y1], [laneX, y2], [right, y2]],
      labelAt: [laneX + 4, y1 - 3],
    };
  });
}
