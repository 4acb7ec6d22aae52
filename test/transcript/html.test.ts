// The HTML view in headless Chromium: a transcript recorded from a real server, drawn, filtered by peer, with every request blocked.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalServer } from '../../src/server.js';
import { Faults } from '../../src/signaling/faults.js';
import { parseTranscript, type TranscriptEvent } from '../../src/transcript/read.js';
import { renderHtml } from '../../src/transcript/render-html.js';
import { isPairEvent, peersOf } from '../../src/transcript/sequence.js';
import { createTranscript } from '../../src/transcript/writer.js';
import { within } from '../support/deadline.js';
import { closeAll, connectPeer, connectRaw, socketUrl, type TestClient } from '../support/peer-client.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.mjs';
import { chromiumProblem, requires } from '../support/prerequisites.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** Generous: two cores shared with other test runs. A launch takes about a second when the machine is idle. */
const LAUNCH_MS = 40_000;
const PAGE_MS = 15_000;
const MESSAGE_MS = 5_000;

const needsChromium = requires('the transcript HTML browser test', chromiumProblem());

const SDP = (type: string): { type: string; sdp: string } => ({
  type,
  sdp: 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fingerprint:sha-256 AA:BB\r\n',
});
const CANDIDATE = { candidate: { candidate: 'candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host' }, type: 'data', connectionId: 'dc_1' };

/**
 * A seed under which the server's own fault injection drops the first CANDIDATE and relays the
 * second, so one transcript holds both a fault-drop and a relayed CANDIDATE.
 */
function seedDroppingFirstCandidateOnly(): number {
  for (let seed = 1; seed < 1000; seed++) {
    const faults = new Faults({ drop: { CANDIDATE: 0.5 }, seed });
    if (faults.decide('CANDIDATE') === 'drop' && faults.decide('CANDIDATE') === 0) return seed;
  }
  throw new Error('no seed below 1000 drops the first CANDIDATE only');
}

/**
 * Records a session on a real server: OFFER, a held ANSWER, a dropped and a relayed CANDIDATE, an
 * OFFER to the absent carol that ends in EXPIRE, an ID-TAKEN for a second "bob", and an ERROR for a wrong key.
 */
async function recordSession(file: string): Promise<void> {
  const transcript = createTranscript({ file, payloads: false });
  const faults = { drop: { CANDIDATE: 0.5 }, delayMs: { ANSWER: 30 }, seed: seedDroppingFirstCandidateOnly() };
  const server = createSignalServer({ host: '127.0.0.1', port: 0, expireTimeoutMs: 100, faults }, { observer: transcript.observer });
  const clients: TestClient[] = [];
  try {
    await server.listen();
    const alice = await connectPeer(server, 'alice');
    clients.push(alice);
    const bob = await connectPeer(server, 'bob');
    clients.push(bob);
    alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: SDP('offer'), type: 'data', connectionId: 'dc_1' } });
    expect(await bob.next(MESSAGE_MS)).toMatchObject({ type: 'OFFER', src: 'alice' });
    bob.send({ type: 'ANSWER', dst: 'alice', payload: { sdp: SDP('answer'), type: 'data', connectionId: 'dc_1' } });
    expect(await alice.next(MESSAGE_MS)).toMatchObject({ type: 'ANSWER', src: 'bob' });
    alice.send({ type: 'CANDIDATE', dst: 'bob', payload: CANDIDATE });
    alice.send({ type: 'CANDIDATE', dst: 'bob', payload: CANDIDATE });
    expect(await bob.next(MESSAGE_MS)).toMatchObject({ type: 'CANDIDATE', src: 'alice' });
    alice.send({ type: 'OFFER', dst: 'carol', payload: { sdp: SDP('offer'), type: 'data', connectionId: 'dc_2' } });
    expect(await alice.next(MESSAGE_MS)).toMatchObject({ type: 'EXPIRE', src: 'carol' });
    const thief = connectRaw(socketUrl(server, { key: server.config.key, id: 'bob', token: 'not-bobs-token' }));
    clients.push(thief);
    expect(await thief.next(MESSAGE_MS)).toMatchObject({ type: 'ID-TAKEN' });
    const stranger = connectRaw(socketUrl(server, { key: 'wrong-key', id: 'mallory', token: 't' }));
    clients.push(stranger);
    expect(await stranger.next(MESSAGE_MS)).toMatchObject({ type: 'ERROR', payload: { msg: 'Invalid key provided' } });
  } finally {
    await within(closeAll(clients), MESSAGE_MS, 'closing the test clients');
    await within(server.close(), 10_000, 'closing the server');
    await transcript.close();
  }
}

interface Opened {
  page: Page;
  url: string;
  requests: string[];
  blocked: string[];
  problems: string[];
}

interface Drawn {
  lanes: Array<{ peer: string; x: number; label: string }>;
  arrows: Array<{
    event: string;
    type: string | null;
    src: string;
    dst: string;
    t: number;
    failure: boolean;
    x1: number;
    x2: number;
    cross: boolean;
    stroke: string;
    visible: boolean;
  }>;
  marks: Array<{ event: string; peer: string | null; failure: boolean; visible: boolean }>;
  shown: string;
}

/** Read in the page (as source text: the test is compiled without the DOM library). */
const READ_DRAWING = `(() => {
  const visible = (element) => getComputedStyle(element).display !== 'none';
  const number = (element, name) => Number(element.getAttribute(name));
  return {
    lanes: Array.from(document.querySelectorAll('g.lane'), (g) => ({
      peer: g.dataset.peer, x: number(g.querySelector('line'), 'x1'), label: g.querySelector('text').textContent,
    })),
    arrows: Array.from(document.querySelectorAll('g.arrow'), (g) => {
      const line = g.querySelector('.line');
      return {
        event: g.dataset.event, type: g.dataset.type ?? null, src: g.dataset.src, dst: g.dataset.dst, t: Number(g.dataset.t),
        failure: g.classList.contains('failure'), x1: number(line, 'x1'), x2: number(line, 'x2'),
        cross: g.querySelector('.cross') !== null, stroke: getComputedStyle(line).stroke, visible: visible(g),
      };
    }),
    marks: Array.from(document.querySelectorAll('g.mark'), (g) => ({
      event: g.dataset.event, peer: g.dataset.peer ?? null, failure: g.classList.contains('failure'), visible: visible(g),
    })),
    shown: document.getElementById('shown').textContent,
  };
})()`;

const RED = 'rgb(198, 40, 40)';
const BLUE = 'rgb(29, 78, 216)';

needsChromium.describe('the transcript HTML in headless Chromium', () => {
  let dir: string;
  let events: TranscriptEvent[];
  let browser: Browser | undefined;
  let page: Opened;

  /** Opens `file` with every request but the file itself refused, noting requests, console errors, page errors and dialogs. */
  async function open(file: string): Promise<Opened> {
    const opened: Opened = { page: await browser!.newPage({ viewport: { width: 1200, height: 800 } }), url: pathToFileURL(file).href, requests: [], blocked: [], problems: [] };
    const { page: tab, url } = opened;
    tab.on('request', (request) => opened.requests.push(request.url()));
    tab.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') opened.problems.push(`console ${message.type()}: ${message.text()}`);
    });
    tab.on('pageerror', (error) => opened.problems.push(`page error: ${error.message}`));
    tab.on('dialog', (dialog) => {
      opened.problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await tab.route('**', async (route) => {
      if (route.request().url() === url) return route.continue();
      opened.blocked.push(route.request().url());
      return route.abort('blockedbyclient');
    });
    await tab.goto(url, { timeout: PAGE_MS, waitUntil: 'load' });
    return opened;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'peer-signal-transcript-html-'));
    const file = path.join(dir, 'session.ndjson');
    await within(recordSession(file), 30_000, 'recording a session');
    const parsed = parseTranscript(readFileSync(file, 'utf8'));
    expect(parsed.warnings).toEqual([]);
    events = parsed.events;
    const html = path.join(dir, 'session.html');
    writeFileSync(html, renderHtml(events, { title: 'session.ndjson' }));
    browser = await within(chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS], timeout: LAUNCH_MS }), LAUNCH_MS + 5_000, 'launching Chromium');
    page = await open(html);
  }, 90_000);

  afterAll(async () => {
    await within(browser?.close() ?? Promise.resolve(), 15_000, 'closing Chromium').catch(() => {});
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('records the session the test drove', () => {
    const kinds = events.map((event) => ('type' in event ? `${event.event} ${event.type}` : event.event));
    expect(kinds).toEqual(
      expect.arrayContaining(['relay OFFER', 'fault-delay ANSWER', 'relay ANSWER', 'fault-drop CANDIDATE', 'relay CANDIDATE', 'queued', 'expire', 'id-taken', 'error']),
    );
    expect(events.find((event) => event.event === 'expire')).toMatchObject({ src: 'carol', dst: 'alice' });
  });

  it('draws a lane per peer and an arrow per message, in the order and the direction of the transcript', async () => {
    const drawn = await page.page.evaluate<Drawn>(READ_DRAWING);
    expect(drawn.lanes.map((lane) => lane.peer)).toEqual(peersOf(events));
    expect(drawn.lanes.map((lane) => lane.peer)).toEqual(expect.arrayContaining(['alice', 'bob', 'carol', 'mallory']));
    for (const lane of drawn.lanes) expect(lane.label).toBe(lane.peer);
    const messages = events.filter(isPairEvent);
    expect(drawn.arrows.map(({ event, type, src, dst, t }) => ({ event, type, src, dst, t }))).toEqual(
      messages.map((event) => ({
        event: event.event,
        type: event.event === 'queued' ? null : event.event === 'expire' ? 'EXPIRE' : event.type,
        src: event.src,
        dst: event.dst,
        t: event.t,
      })),
    );
    const laneX = new Map(drawn.lanes.map((lane) => [lane.peer, lane.x]));
    for (const arrow of drawn.arrows) {
      const from = laneX.get(arrow.src)!;
      const to = laneX.get(arrow.dst)!;
      expect(arrow.x1).toBe(from);
      // Pointing at the receiver: the line ends near its lane (before the head), or short of it with × for a drop.
      if (arrow.event === 'fault-drop') {
        expect(arrow.cross).toBe(true);
        expect(Math.abs(arrow.x2 - from)).toBeLessThan(Math.abs(to - from) * 0.8);
      } else {
        expect(arrow.cross).toBe(false);
        expect(Math.abs(arrow.x2 - to)).toBeLessThanOrEqual(12);
      }
      expect(Math.sign(arrow.x2 - arrow.x1)).toBe(Math.sign(to - from));
    }
  });

  it('marks failures in a colour of their own: EXPIRE, fault drop and delay, ID-TAKEN, ERROR, refusals', async () => {
    const drawn = await page.page.evaluate<Drawn>(READ_DRAWING);
    const failedArrows = drawn.arrows.filter((arrow) => arrow.failure);
    expect(failedArrows.map((arrow) => arrow.event).sort()).toEqual(['expire', 'fault-delay', 'fault-drop']);
    for (const arrow of failedArrows) expect(arrow.stroke).toBe(RED);
    for (const arrow of drawn.arrows.filter((drawnArrow) => drawnArrow.event === 'relay')) expect(arrow.stroke).toBe(BLUE);
    const failedMarks = drawn.marks.filter((mark) => mark.failure);
    expect(failedMarks).toEqual(
      expect.arrayContaining([
        { event: 'id-taken', peer: 'bob', failure: true, visible: true },
        { event: 'error', peer: 'mallory', failure: true, visible: true },
        { event: 'refused', peer: 'bob', failure: true, visible: true },
      ]),
    );
    expect(drawn.marks.filter((mark) => mark.event === 'open').every((mark) => !mark.failure)).toBe(true);
    expect(await page.page.locator('g.mark.failure[data-event="id-taken"] .label').textContent()).toMatch(/^ID-TAKEN/);
    expect(await page.page.locator('g.mark.failure[data-event="error"] .label').textContent()).toBe('ERROR: Invalid key provided');
  });

  it('needs no network: the page made no request but its own file, and its script ran under its policy', async () => {
    expect(page.blocked).toEqual([]);
    expect(new Set(page.requests)).toEqual(new Set([page.url]));
    expect(page.problems).toEqual([]);
    const drawn = await page.page.evaluate<Drawn>(READ_DRAWING);
    expect(drawn.shown).toBe(`all ${events.length} events`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.page.screenshot({ path: path.join(ARTIFACTS, 'transcript.png'), fullPage: true, timeout: PAGE_MS });
  });

  it('filters by peer: only its arrows and marks stay visible', async () => {
    await page.page.selectOption('#peer-filter', 'carol', { timeout: PAGE_MS });
    let drawn = await page.page.evaluate<Drawn>(READ_DRAWING);
    const visibleArrows = drawn.arrows.filter((arrow) => arrow.visible);
    expect(visibleArrows.map(({ event, src, dst }) => ({ event, src, dst }))).toEqual([
      { event: 'queued', src: 'alice', dst: 'carol' },
      { event: 'expire', src: 'carol', dst: 'alice' },
    ]);
    expect(drawn.marks.filter((mark) => mark.visible)).toEqual([]);
    expect(drawn.shown).toBe(`2 of ${events.length} events`);
    expect(await page.page.locator('g.arrow[data-src="bob"]').first().isVisible()).toBe(false);

    await page.page.selectOption('#peer-filter', 'bob', { timeout: PAGE_MS });
    drawn = await page.page.evaluate<Drawn>(READ_DRAWING);
    for (const arrow of drawn.arrows) expect(arrow.visible).toBe(arrow.src === 'bob' || arrow.dst === 'bob');
    for (const mark of drawn.marks) expect(mark.visible).toBe(mark.peer === 'bob');
    expect(drawn.arrows.filter((arrow) => arrow.visible).length).toBe(events.filter((event) => isPairEvent(event) && (event.src === 'bob' || event.dst === 'bob')).length);

    await page.page.selectOption('#peer-filter', '', { timeout: PAGE_MS });
    drawn = await page.page.evaluate<Drawn>(READ_DRAWING);
    expect(drawn.arrows.every((arrow) => arrow.visible) && drawn.marks.every((mark) => mark.visible)).toBe(true);
  });

  it('shows hostile ids from a hand-edited file as text: no element, script or dialog comes from them', async () => {
    const evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>';
    const html = path.join(dir, 'hostile.html');
    writeFileSync(
      html,
      renderHtml(
        [
          { t: 1, event: 'open', id: evil },
          { t: 2, event: 'relay', type: '<b>OFFER</b>', src: evil, dst: 'bob', bytes: 1, queuedMs: 0 },
          { t: 3, event: 'error', id: 'bob', msg: '</text><script>alert(3)</script>' },
        ],
        { title: evil },
      ),
    );
    const hostile = await open(html);
    try {
      const found = await hostile.page.evaluate<{ images: number; scripts: number; bold: number; peer: string; title: string }>(`({
        images: document.querySelectorAll('img').length,
        scripts: document.querySelectorAll('script').length,
        bold: document.querySelectorAll('b').length,
        peer: document.querySelector('g.lane').dataset.peer,
        title: document.title,
      })`);
      expect(found).toEqual({ images: 0, scripts: 1, bold: 0, peer: evil, title: `transcript: ${evil}` });
      expect(hostile.problems).toEqual([]);
    } finally {
      await hostile.page.close();
    }
  });

  it('would notice a page that fetched something (the check above can fail)', async () => {
    const html = path.join(dir, 'fetching.html');
    writeFileSync(html, '<!doctype html><title>x</title><img src="https://example.invalid/pixel.png">');
    const fetching = await open(html);
    try {
      expect(fetching.blocked).toEqual(['https://example.invalid/pixel.png']);
    } finally {
      await fetching.page.close();
    }
  });
});
