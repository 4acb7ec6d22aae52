// src/ uses only the public, documented APIs of Node, V8 and ws: no underscore members, internal symbols or run-time V8 flags.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');

/** What marks a private API, with why it is named here. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\._[A-Za-z$]/, 'an underscore-prefixed member (private to Node or ws)'],
  [/\[\s*['"`]_[A-Za-z$]/, 'an underscore-prefixed member reached by a string key'],
  [/\bkBuffer(Cb)?\b/, "net.Socket's internal kBuffer symbols"],
  [/getOwnPropertySymbols|\.description\s*===/, 'an internal symbol looked up by its description'],
  [/\bsetFlagsFromString\b/, 'V8 flags changed at run time'],
  [/\bprocess\.binding\b|\binternalBinding\b/, "Node's internal bindings"],
  [/\buseUserBuffer\b/, "a libuv handle's private read path"],
  [/\bsetSocket\b/, "ws's private WebSocket#setSocket"],
  [/\(\s*null\s*,\s*undefined\s*,/, "ws's private server-side WebSocket construction (address null)"],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Code without comments and string contents, so prose and wire strings cannot trip the checks. */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/(['"])(?:\\.|(?!\1)[^\\\n])*\1/g, (literal) => (/^['"]_/.test(literal) ? literal : "''"));
}

/** Every forbidden use in `text`, as "line: reason". */
function findPrivateUses(text: string): string[] {
  const found: string[] = [];
  codeOnly(text)
    .split('\n')
    .forEach((line, index) => {
      for (const [pattern, reason] of FORBIDDEN) if (pattern.test(line)) found.push(`${index + 1}: ${reason}: ${line.trim()}`);
    });
  return found;
}

describe('public APIs only', () => {
  it('the checker catches each kind of private use (so a clean result means something)', () => {
    const samples = [
      'socket._handle.useUserBuffer(buffer);',
      "const receiver = (ws as any)['_receiver'];",
      'peerSocket._socket.pause();',
      'const state = socket[kBuffer];',
      'Object.getOwnPropertySymbols(socket).find((s) => s.description === "buffer");',
      "v8.setFlagsFromString('--semi-space-growth-factor=1');",
      "process.binding('tcp_wrap');",
      'ws.setSocket(socket, head, options);',
      'const socket = new PeerSocket(null, undefined, options);',
    ];
    for (const sample of samples) expect(findPrivateUses(sample), sample).not.toEqual([]);
    expect(findPrivateUses("// the old code used socket._handle here\nconst note = 'see _private docs';")).toEqual([]);
  });

  it('src/ uses none', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(20);
    const uses = files.flatMap((file) => findPrivateUses(readFileSync(file, 'utf8')).map((use) => `${path.relative(SRC, file)}:${use}`));
    expect(uses).toEqual([]);
  });
});
