// A vitest reporter that ends every run with how many tests were skipped and why; with CI=true any skip fails the run.
import { relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

/** The skip summary's lines: the count, then one line per reason with the files it skipped tests in. */
export function summarizeSkips(skipped: ReadonlyArray<{ file: string; reason: string }>): string[] {
  const byReason = new Map<string, Map<string, number>>();
  for (const { file, reason } of skipped) {
    const files = byReason.get(reason) ?? new Map<string, number>();
    files.set(file, (files.get(file) ?? 0) + 1);
    byReason.set(reason, files);
  }
  const count = skipped.length;
  const lines = [`${count} test${count === 1 ? '' : 's'} skipped${count === 0 ? '' : ':'}`];
  for (const [reason, files] of byReason) {
    const where = [...files].map(([file, tests]) => `${file} (${tests})`).join(', ');
    lines.push(`  ${reason} [${where}]`);
  }
  return lines;
}

export default class SkipSummary implements Reporter {
  private root = process.cwd();
  private filtered = false;

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
    // A name filter (-t) skips whatever does not match: those are the user's choice, not the machine's.
    this.filtered = vitest.config.testNamePattern !== undefined;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: Array<{ file: string; reason: string }> = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== 'skipped') continue;
        const reason = result.note ?? (test.meta() as { skipReason?: string }).skipReason ?? `skipped in the code (${test.options.mode}), no reason given`;
        skipped.push({ file: relative(this.root, module.moduleId), reason });
      }
    }
    const lines = summarizeSkips(skipped);
    const forbidden = process.env.CI === 'true' && skipped.length > 0 && !this.filtered;
    if (forbidden) lines.push('CI=true forbids skipping tests: install what is missing (CONTRIBUTING.md, "Test prerequisites"); failing the run');
    process.stdout.write(`\nskip summary: ${lines.join('\n')}\n`);
    if (forbidden) process.exitCode = 1;
  }
}
