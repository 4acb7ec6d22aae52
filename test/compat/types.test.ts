// The shipped types: a program written against `peer` 1.0.2's types compiles against peer-signal's dist/index.d.ts unchanged.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROGRAM = fileURLToPath(new URL('./fixtures/peer-program.ts', import.meta.url));

/** Type-checks the fixture with `peer` resolving to `peerTypes`; returns the diagnostics as text. */
function compile(peerTypes: string): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [`${ROOT}node_modules/@types`],
    paths: { peer: [peerTypes] },
  };
  const program = ts.createProgram([PROGRAM], options);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

describe("a program written against peer's types", () => {
  it('compiles against peer 1.0.2 itself (the fixture is valid)', () => {
    expect(compile(`${ROOT}node_modules/peer/dist/peer.d.ts`)).toEqual([]);
  }, 60_000);

  it("compiles against peer-signal's built types with only the import changed", () => {
    if (!existsSync(`${ROOT}dist/index.d.ts`)) throw new Error('dist/index.d.ts is missing; run npm run build first (npm test does it)');
    expect(compile(`${ROOT}dist/index.d.ts`)).toEqual([]);
  }, 60_000);
});
