// The HTML page as text: its stable attributes, that nothing from the file can open a tag, and that it loads nothing.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TranscriptEvent } from '../../src/transcript/read.js';
import { escapeXml, renderHtml } from '../../src/transcript/render-html.js';

const SESSION: TranscriptEvent[] = [
  { t: 0.8, event: 'open', id: 'alice' },
  { t: 10.4, event: 'relay', type: 'OFFER', src: 'alice', dst: 'bob', bytes: 512, queuedMs: 0 },
  { t: 20.3, event: 'fault-drop', type: 'CANDIDATE', src: 'bob', dst: 'alice' },
  { t: 30.5, event: 'queued', src: 'alice', dst: 'carol' },
  { t: 131.6, event: 'expire', src: 'carol', dst: 'alice' },
  { t: 150.2, event: 'id-taken', id: 'bob' },
  { t: 151, event: 'refused', reason: 'path' },
];

describe('renderHtml', () => {
  const html = renderHtml(SESSION, { title: 'session.ndjson' });

  it('has a lane per peer, an arrow per message and a mark per peer event, with stable attributes', () => {
    expect([...html.matchAll(/<g class="lane" data-peer="([^"]*)">/g)].map((match) => match[1])).toEqual(['alice', 'bob', 'carol']);
    expect(html).toContain('<g class="arrow" data-event="relay" data-type="OFFER" data-src="alice" data-dst="bob" data-t="10.4" ');
    expect(html).toContain('<g class="arrow failure" data-event="fault-drop" data-type="CANDIDATE" data-src="bob" data-dst="alice" data-t="20.3" ');
    expect(html).toContain('<g class="arrow queued" data-event="queued" data-src="alice" data-dst="carol" data-t="30.5" ');
    expect(html).toContain('<g class="arrow failure" data-event="expire" data-type="EXPIRE" data-src="carol" data-dst="alice" data-t="131.6" ');
    expect(html).toContain('<g class="mark" data-event="open" data-peer="alice" data-t="0.8" ');
    expect(html).toContain('<g class="mark failure" data-event="id-taken" data-peer="bob" data-t="150.2" ');
    expect(html).toContain('<g class="mark failure" data-event="refused" data-t="151" ');
    expect(html).toMatch(/<select id="peer-filter"><option value="">all peers<\/option><option value="alice">alice<\/option>/);
  });

  it('draws a dropped message as a line that stops short, with a cross', () => {
    const drop = /<g class="arrow failure" data-event="fault-drop"[^>]*>(.*?)<\/g>/.exec(html)![1]!;
    expect(drop).toContain('class="cross"');
    expect(drop).not.toContain('class="head"');
  });

  it('loads nothing: no URL, stylesheet or font from elsewhere, and a policy that forbids any request', () => {
    const withoutNamespace = html.replace('xmlns="http://www.w3.org/2000/svg"', '');
    // (data-src is ours: a src attribute of its own would be a request)
    expect(withoutNamespace).not.toMatch(/https?:|(?<![\w-])(src|href)=|url\(|@import|@font-face/i);
    const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    expect(policy).toMatch(/^default-src 'none'; /);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    expect(policy).toContain(`script-src ${hash(script)}`);
    expect(policy).toContain(`style-src ${hash(style)}`);
  });

  it('escapes every id and text from the file', () => {
    const evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>\'&';
    const page = renderHtml(
      [
        { t: 1, event: 'open', id: evil },
        { t: 2, event: 'relay', type: evil, src: evil, dst: 'b', bytes: 1, queuedMs: 0, summary: { connection: evil } },
        { t: 3, event: 'error', id: 'b', msg: evil },
      ],
      { title: evil },
    );
    expect(page).not.toContain('<img');
    expect(page.match(/<script>/g)).toHaveLength(1);
    expect(page).toContain('data-peer="&#34;&#62;&#60;img src=x onerror=alert(1)&#62;&#60;script&#62;alert(2)&#60;/script&#62;&#39;&#38;"');
  });

  it('escapes the five XML specials and replaces characters XML cannot hold, keeping emoji whole', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
    expect(escapeXml('a\u0000b\u001bc\ud800d\tok\n')).toBe('a\ufffdb\ufffdc\ufffdd\tok\n');
    expect(escapeXml('peer 🙂')).toBe('peer 🙂');
  });

  it('renders an empty transcript as a page that says so', () => {
    const empty = renderHtml([], { title: 'empty' });
    expect(empty).toContain('<p id="summary">no events</p>');
    expect(empty).not.toContain('class="lane"');
  });
});
