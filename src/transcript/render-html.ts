// The HTML view of a transcript: one self-contained page with an SVG sequence diagram and a filter by peer, no network.
import { createHash } from 'node:crypto';
import type { TranscriptEvent } from './read.js';
import { buildSequence, countsOf, describeEvent, formatSeconds, isFailure, isPairEvent, peerOf, plural, type Arrow, type Mark } from './sequence.js';

export interface HtmlOptions {
  /** What the page is of (the file name, and the peer when filtered). */
  readonly title: string;
}

/** Characters XML cannot hold (C0 controls but tab and newline, lone surrogates), shown as U+FFFD; paired surrogates (emoji) stay. */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text or an attribute value from the file, safe inside HTML and SVG: nothing in it can open a tag or end a quote. */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML, '\ufffd').replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** At most `max` characters, with … when cut (the whole text goes in the tooltip). */
function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/** Geometry, in SVG pixels. TOP, ROW and BOTTOM are written into the page script too: it moves rows up when filtering. */
const TIME_COLUMN = 84;
const TOP = 76;
const ROW = 40;
const BOTTOM = 24;
/** Room right of the last lane for mark labels. */
const RIGHT = 220;
/** Approximate width of a character of the 12 px font, to size lanes and clip labels. */
const CHAR = 7;

function laneGap(lanes: readonly string[]): number {
  const longest = Math.max(0, ...lanes.map((id) => Math.min([...id].length, 40)));
  return Math.min(320, Math.max(160, longest * CHAR + 28));
}

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`)
    .join('');
}

function tooltip(event: TranscriptEvent): string {
  const { label, note } = describeEvent(event);
  const id = isPairEvent(event) ? `${event.src} → ${event.dst}` : peerOf(event);
  const who = id === undefined ? '' : `${id}: `;
  return `${formatSeconds(event.t)} s  ${who}${label}${note === undefined ? '' : ` (${note})`}`;
}

function timeText(event: TranscriptEvent): string {
  return `<text class="time" x="8" y="4">${formatSeconds(event.t)} s</text>`;
}

/** A note under an arrow or beside a loop; clipped to what fits between two lanes. */
function noteText(note: string | undefined, x: number, y: number, gap: number, anchor: 'start' | 'middle'): string {
  if (note === undefined) return '';
  const align = anchor === 'middle' ? ' text-anchor="middle"' : '';
  return `<text class="note" x="${x}" y="${y}"${align}>${escapeXml(clip(note, Math.floor(gap / 6)))}</text>`;
}

/** An arrow from lane `from` to lane `to` at y = 0 (the row's own coordinates); a drop stops short with ×. */
function arrowShape(step: Arrow, x: (lane: number) => number, gap: number): string {
  const { label, note } = describeEvent(step.event);
  const x1 = x(step.from);
  const x2 = x(step.to);
  if (step.from === step.to) {
    // A message to oneself: a loop out to the right and back.
    return (
      `<path class="line" d="M${x1} -8 h36 v16 h-28"/><path class="head" d="M${x1} 8 l9 -5 v10 z"/>` +
      `<text class="label" x="${x1 + 42}" y="4">${escapeXml(clip(label, 20))}</text>` +
      noteText(note, x1 + 42, 17, gap, 'start')
    );
  }
  const direction = Math.sign(x2 - x1);
  const middle = (x1 + x2) / 2;
  const text =
    `<text class="label" x="${middle}" y="-6" text-anchor="middle">${escapeXml(clip(label, Math.floor(Math.abs(x2 - x1) / CHAR)))}</text>` +
    noteText(note, middle, 15, Math.max(gap, Math.abs(x2 - x1)), 'middle');
  if (step.event.event === 'fault-drop') {
    const end = x1 + direction * Math.abs(x2 - x1) * 0.6;
    return (
      `<line class="line" x1="${x1}" y1="0" x2="${end}" y2="0"/>` +
      `<path class="cross" d="M${end - 5} -5 l10 10 M${end - 5} 5 l10 -10"/>${text}`
    );
  }
  const tip = x2 - direction * 2;
  return (
    `<line class="line" x1="${x1}" y1="0" x2="${tip - direction * 8}" y2="0"/>` +
    `<path class="head" d="M${tip} 0 l${-direction * 10} -5 v10 z"/>${text}`
  );
}

function arrowRow(step: Arrow, y: number, lanes: readonly string[], x: (lane: number) => number, gap: number): string {
  const event = step.event;
  const classes = ['arrow', event.event === 'queued' ? 'queued' : '', event.event === 'fault-delay' ? 'delayed' : '', isFailure(event) ? 'failure' : ''];
  const attrs = attributes({
    class: classes.filter(Boolean).join(' '),
    'data-event': event.event,
    'data-type': event.event === 'queued' ? undefined : event.event === 'expire' ? 'EXPIRE' : event.type,
    'data-src': lanes[step.from],
    'data-dst': lanes[step.to],
    'data-t': event.t,
    transform: `translate(0,${y})`,
  });
  return `<g${attrs}><title>${escapeXml(tooltip(event))}</title>${timeText(event)}${arrowShape(step, x, gap)}</g>`;
}

function markRow(step: Mark, y: number, lanes: readonly string[], x: (lane: number) => number, width: number): string {
  const event = step.event;
  const { label, note } = describeEvent(event);
  const failure = isFailure(event);
  const attrs = attributes({
    class: failure ? 'mark failure' : 'mark',
    'data-event': event.event,
    'data-peer': step.lane === undefined ? undefined : lanes[step.lane],
    'data-t': event.t,
    transform: `translate(0,${y})`,
  });
  const words = escapeXml(clip(note === undefined ? label : `${label}: ${note}`, 60));
  let shape: string;
  if (step.lane === undefined) {
    // Not about one peer (lost events, a refusal before an id was known): a band across every lane.
    shape = `<line class="band" x1="${TIME_COLUMN}" y1="0" x2="${width - 8}" y2="0"/><text class="label" x="${TIME_COLUMN + 6}" y="-6">${words}</text>`;
  } else {
    const lx = x(step.lane);
    const dot = failure
      ? `<path class="cross" d="M${lx - 5} -5 l10 10 M${lx - 5} 5 l10 -10"/>`
      : `<circle class="dot" cx="${lx}" cy="0" r="5"/>`;
    shape = `${dot}<text class="label" x="${lx + 10}" y="4">${words}</text>`;
  }
  return `<g${attrs}><title>${escapeXml(tooltip(event))}</title>${timeText(event)}${shape}</g>`;
}

const STYLE = `
:root { color-scheme: light; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; }
body { margin: 16px; }
h1 { font-size: 18px; margin: 0 0 4px; }
p { margin: 4px 0; }
.controls { margin: 8px 0 12px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
.legend span { margin-right: 12px; }
.legend .message { color: #1d4ed8; } .legend .queued { color: #6b7280; } .legend .failure { color: #c62828; }
.failures { color: #c62828; font-weight: 600; }
.scroll { overflow: auto; border: 1px solid #d5dbe1; }
svg { display: block; font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.lane line { stroke: #9aa5b1; stroke-dasharray: 2 3; }
.lane rect { fill: #eef2f7; stroke: #9aa5b1; }
.lane text { font: 12px ui-monospace, Menlo, Consolas, monospace; font-weight: 600; }
.lane.dim { opacity: 0.3; }
.time { font: 11px ui-monospace, Menlo, Consolas, monospace; fill: #6b7280; }
.arrow .line { stroke: #1d4ed8; stroke-width: 1.5; fill: none; }
.arrow .head { fill: #1d4ed8; }
.arrow .label { fill: #1d4ed8; font-weight: 600; }
.note { fill: #52606d; font-size: 10px; }
.arrow.queued .line { stroke: #6b7280; stroke-dasharray: 4 3; }
.arrow.queued .head { fill: none; stroke: #6b7280; }
.arrow.queued .label { fill: #6b7280; font-weight: 400; }
.arrow.failure .line, .mark.failure .band { stroke: #c62828; }
.arrow.failure .head { fill: #c62828; }
.arrow.failure .label, .mark.failure .label, .failure .note { fill: #c62828; }
.arrow.delayed .line { stroke-dasharray: 6 3; }
.cross { stroke: #c62828; stroke-width: 2.5; }
.mark .dot { fill: #fff; stroke: #3e4c59; stroke-width: 1.5; }
.mark[data-event="open"] .dot { fill: #15803d; stroke: #15803d; }
.mark .label { fill: #3e4c59; }
.band { stroke-dasharray: 8 4; stroke-width: 1.5; }
.hidden { display: none; }
`;

/** Shows only the rows of the chosen peer and moves them up; dims the lanes it did not talk to. Reads ids from the DOM, never from script text. */
const SCRIPT = `
(() => {
  const TOP = ${TOP}, ROW = ${ROW}, BOTTOM = ${BOTTOM};
  const select = document.getElementById('peer-filter');
  const svg = document.getElementById('sequence');
  const count = document.getElementById('shown');
  const rows = Array.from(svg.querySelectorAll('g.arrow, g.mark'));
  const lanes = Array.from(svg.querySelectorAll('g.lane'));
  function apply() {
    const peer = select.value;
    const involved = new Set([peer]);
    let y = TOP;
    let shown = 0;
    for (const row of rows) {
      const d = row.dataset;
      const arrow = row.classList.contains('arrow');
      // As --peer: a peer's arrows and marks, and lost events (they may have been its own).
      const show = peer === '' || (arrow ? d.src === peer || d.dst === peer : d.peer === peer || d.event === 'dropped');
      row.classList.toggle('hidden', !show);
      if (!show) continue;
      if (arrow) { involved.add(d.src); involved.add(d.dst); }
      row.setAttribute('transform', 'translate(0,' + y + ')');
      y += ROW;
      shown++;
    }
    const bottom = y - ROW / 2 + BOTTOM;
    for (const lane of lanes) {
      lane.classList.toggle('dim', peer !== '' && !involved.has(lane.dataset.peer));
      lane.querySelector('line').setAttribute('y2', String(bottom - BOTTOM / 2));
    }
    svg.setAttribute('height', String(bottom));
    count.textContent = peer === '' ? 'all ' + rows.length + ' events' : shown + ' of ' + rows.length + ' events';
  }
  select.addEventListener('change', apply);
  apply();
})();
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

/**
 * One self-contained HTML page: a lane per peer (`<g class="lane" data-peer>`), an arrow per message
 * (`<g class="arrow" data-event data-type data-src data-dst data-t>`, t in ms as in the file), a mark
 * per peer-level event (`<g class="mark" data-event data-peer data-t>`), failures with the extra class
 * `failure`, and a `<select id="peer-filter">`. Its Content-Security-Policy allows no request at all
 * and only its own script and style, so nothing from the file could run even if escaping failed.
 */
export function renderHtml(events: readonly TranscriptEvent[], options: HtmlOptions): string {
  const { lanes, steps } = buildSequence(events);
  const gap = laneGap(lanes);
  const x = (lane: number): number => TIME_COLUMN + gap / 2 + lane * gap;
  const width = TIME_COLUMN + lanes.length * gap + RIGHT;
  const height = TOP + steps.length * ROW - ROW / 2 + BOTTOM;
  const laneBottom = height - BOTTOM / 2;
  const laneShapes = lanes.map((peer, lane) => {
    const id = clip(peer, 40);
    const boxWidth = Math.min(gap - 12, [...id].length * CHAR + 16);
    return (
      `<g${attributes({ class: 'lane', 'data-peer': peer })}><title>${escapeXml(peer)}</title>` +
      `<line x1="${x(lane)}" y1="40" x2="${x(lane)}" y2="${laneBottom}"/>` +
      `<rect x="${x(lane) - boxWidth / 2}" y="14" width="${boxWidth}" height="26" rx="4"/>` +
      `<text x="${x(lane)}" y="31" text-anchor="middle">${escapeXml(id)}</text></g>`
    );
  });
  const rows = steps.map((step, at) =>
    step.kind === 'arrow' ? arrowRow(step, TOP + at * ROW, lanes, x, gap) : markRow(step, TOP + at * ROW, lanes, x, width),
  );
  const counts = countsOf(events);
  const summary =
    events.length === 0
      ? 'no events'
      : `${plural(counts.peers, 'peer')}, ${plural(counts.messages, 'message')}, ` +
        `<span class="${counts.failures > 0 ? 'failures' : ''}">${counts.failures > 0 ? plural(counts.failures, 'failure') : 'no failures'}</span>` +
        ` (${formatSeconds(counts.firstMs)} s to ${formatSeconds(counts.lastMs)} s)`;
  const peerOptions = lanes.map((peer) => `<option value="${escapeXml(peer)}">${escapeXml(clip(peer, 60))}</option>`).join('');
  const policy = `default-src 'none'; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(`transcript: ${options.title}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeXml(`transcript: ${options.title}`)}</h1>
<p id="summary">${summary}</p>
<div class="controls">
<label>peer <select id="peer-filter"><option value="">all peers</option>${peerOptions}</select></label>
<span id="shown"></span>
<span class="legend"><span class="message">→ message</span><span class="queued">⇢ queued</span><span class="failure">× failure (EXPIRE, fault drop/delay, ERROR, ID-TAKEN, refused, lost events)</span></span>
</div>
<div class="scroll">
<svg id="sequence" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="sequence diagram">
${laneShapes.join('\n')}
${rows.join('\n')}
</svg>
</div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
