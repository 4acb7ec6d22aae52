// The README's code blocks, read by the recipe tests so that what the README shows is what they run.
import { readFileSync } from 'node:fs';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The text under a `## ` or `### ` heading, up to the next heading of the same or a higher level. */
export function readmeSection(heading: string): string {
  const match = new RegExp(`^(#{2,3}) ${literally(heading)}$`, 'm').exec(README);
  if (match === null) throw new Error(`README has no heading "${heading}"`);
  const rest = README.slice(match.index + match[0].length);
  const end = rest.search(new RegExp(`^#{2,${match[1]!.length}} `, 'm'));
  return end === -1 ? rest : rest.slice(0, end);
}

/** The fenced code blocks of a section, without their fences. */
export function codeBlocks(section: string): string[] {
  return [...section.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

/** The one block of a section that opens with a comment naming `file` (`// global-setup.ts: ...`, `# .github/workflows/e2e.yml`). */
export function codeBlock(section: string, file: string): string {
  const found = codeBlocks(section).filter((block) => new RegExp(`^(//|#) ${literally(file)}(:|\\n)`).test(block));
  if (found.length !== 1) throw new Error(`expected one README block opening with a comment naming ${file}, found ${found.length}`);
  return found[0]!;
}

export interface WorkflowStep {
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
}

/**
 * The steps of a GitHub Actions workflow block, as far as the tests need them (`name`, `if`, `uses`,
 * and `run` as one line or a `|` block). Only the shape the README uses: one `steps:` list.
 */
export function workflowSteps(block: string): WorkflowStep[] {
  const lines = block.split('\n');
  const stepsAt = lines.findIndex((line) => /^\s*steps:\s*$/.test(line));
  if (stepsAt === -1) throw new Error('the workflow block has no steps:');
  const steps: WorkflowStep[] = [];
  let itemIndent = -1;
  for (let index = stepsAt + 1; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trim() === '') continue;
    const indent = line.search(/\S/);
    if (itemIndent === -1) itemIndent = indent;
    if (indent < itemIndent || (indent === itemIndent && !line.trimStart().startsWith('- '))) break;
    if (indent === itemIndent) steps.push({});
    // A step's own keys sit two columns in from its dash; deeper lines belong to `with:` and the like.
    if (indent !== itemIndent && indent !== itemIndent + 2) continue;
    const field = /^(?:- )?(name|if|uses|run):\s*(.*)$/.exec(line.trimStart());
    if (field === null) continue;
    const key = field[1] as keyof WorkflowStep;
    const value = field[2]!;
    if (key === 'run' && value === '|') {
      const script: string[] = [];
      while (index + 1 < lines.length && (lines[index + 1]!.trim() === '' || lines[index + 1]!.search(/\S/) > itemIndent + 2)) {
        script.push(lines[++index]!.slice(itemIndent + 4));
      }
      steps.at(-1)![key] = script.join('\n').trimEnd() + '\n';
    } else {
      steps.at(-1)![key] = key === 'run' ? `${value}\n` : value;
    }
  }
  return steps;
}
