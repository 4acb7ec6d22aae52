// replaceSrc: every top-level src goes, however spelled; everything else stays byte for byte; no recursion.
import { describe, expect, it } from 'vitest';
import { replaceSrc } from '../../src/signaling/set-src.js';

describe('replaceSrc', () => {
  it.each([
    ['{"src":"x","type":"OFFER"}', '{"type":"OFFER","src":"me"}'],
    ['{"type":"OFFER","src":"x"}', '{"type":"OFFER","src":"me"}'],
    [' { "type" : "OFFER" , "src" : "x" , "dst" : "b" } ', '{"type" : "OFFER","dst" : "b","src":"me"}'],
    ['{"\\u0073rc":"x","type":"A"}', '{"type":"A","src":"me"}'],
    ['{"src":1,"src":{"a":[1,{"src":2}]},"type":"A"}', '{"type":"A","src":"me"}'],
    ['{"type":"A","payload":{"src":"inner"},"src":null}', '{"type":"A","payload":{"src":"inner"},"src":"me"}'],
    ['{"type":"A","n":1e999,"big":12345678901234567890,"src":"x"}', '{"type":"A","n":1e999,"big":12345678901234567890,"src":"me"}'],
    ['{"s":"a \\"}\\" {[","src":"x","t":true,"f":false,"z":null}', '{"s":"a \\"}\\" {[","t":true,"f":false,"z":null,"src":"me"}'],
  ])('%s', (input, expected) => {
    expect(replaceSrc(input, 'me')).toBe(expected);
    const parsed = JSON.parse(replaceSrc(input, 'me')) as Record<string, unknown>;
    expect(parsed.src).toBe('me');
  });

  it('handles nesting far deeper than JSON.stringify can', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const text = `{"src":"x","payload":${deep},"type":"OFFER"}`;
    const result = replaceSrc(text, 'me');
    expect(result).toBe(`{"payload":${deep},"type":"OFFER","src":"me"}`);
  });
});
