// Sets a relayed frame's `src` by editing its JSON text: other fields stay byte for byte, and nothing recurses.

/** Index just past the JSON string starting at `start` (which is a `"`). */
function skipString(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) return i + 1;
    i += c === 0x5c /* \ */ ? 2 : 1;
  }
}

/** Index just past the JSON value starting at `start`. Containers are skipped with a depth counter, not recursion. */
function skipValue(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === 0x22) return skipString(text, start);
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) {
    let i = start;
    // A number, true, false or null ends at a delimiter.
    while (i < text.length && !/[\s,}\]]/.test(text[i]!)) i++;
    return i;
  }
  let depth = 0;
  let i = start;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = skipString(text, i);
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
}

function skipSpace(text: string, start: number): number {
  let i = start;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/**
 * Given the text of a JSON object that already parsed, returns it without any top-level member
 * whose key decodes to "src" (however it is escaped, however often it appears) and with
 * `"src":"<senderId>"` appended. `senderId` must need no JSON escaping (ids are [A-Za-z0-9 _-]).
 */
export function replaceSrc(text: string, senderId: string): string {
  const kept: string[] = [];
  let i = skipSpace(text, 0) + 1; // past "{"
  for (;;) {
    i = skipSpace(text, i);
    if (text.charCodeAt(i) === 0x7d) break;
    const keyStart = i;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    i = skipSpace(text, keyEnd) + 1; // past ":"
    const valueEnd = skipValue(text, skipSpace(text, i));
    if (key !== 'src') kept.push(text.slice(keyStart, valueEnd));
    i = skipSpace(text, valueEnd);
    if (text.charCodeAt(i) === 0x2c /* , */) i++;
  }
  kept.push(`"src":"${senderId}"`);
  return `{${kept.join(',')}}`;
}
