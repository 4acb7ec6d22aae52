// Bundles the CLI and the library into dist/ with every dependency inlined: the package has no runtime dependencies.
import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  entry: { cli: 'src/cli/main.ts', index: 'src/index.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  // Code shared by the CLI and the library, and the lazily imported Redis backend, go into chunks.
  splitting: true,
  // Maps sit beside the bundle for `node --enable-source-maps` in a checkout; the npm package leaves them out (files).
  sourcemap: true,
  // Less to parse at every start: cold start is a benchmark target and what CI users wait for.
  minify: true,
  noExternal: [/.*/],
  // ws treats these as optional native speed-ups with JS fallbacks.
  external: ['bufferutil', 'utf-8-validate'],
  define: { __PEER_SIGNAL_VERSION__: JSON.stringify(version) },
  banner: {
    // Bundled CommonJS dependencies (ws) call require(); ESM output has none unless we make one.
    js: "import { createRequire as __peerSignalCreateRequire } from 'node:module';\nconst require = __peerSignalCreateRequire(import.meta.url);",
  },
});
