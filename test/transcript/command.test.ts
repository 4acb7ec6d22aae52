// `peer-signal transcript FILE`, run in-process: the terminal view, --json, --peer, --html, warnings, and the exit codes of failures.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Chalk } from 'chalk';
import { CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTranscriptCommand, runTranscript, type TranscriptIo } from '../../src/cli/transcript.js';
import { CliError } from '../../src/cli/output.js';

const LINES = [
  '{"t":0.8,"event":"open","id":"alice"}',
  '{"t":2.1,"event":"open","id":"bob"}',
  '{"t":10.4,"event":"relay","type":"OFFER","src":"alice","dst":"bob","bytes":512,"queuedMs":0,"summary":{"sdp":{"type":"offer","media":[{"kind":"application"}]}}}',
  '{"t":14.2,"event":"relay","type":"ANSWER","src":"bob","dst":"alice","bytes":498,"queuedMs":0}',
  '{"t":30.5,"event":"queued","src":"alice","dst":"carol"}',
  '{"t":131.6,"event":"expire","src":"carol","dst":"alice"}',
  '{"t":150.2,"event":"id-taken","id":"bob"}',
];

const dirs: string[] = [];

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'peer-signal-transcript-cli-'));
  dirs.push(dir);
  return dir;
}

function transcriptFile(lines: readonly string[], name = 'session.ndjson'): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Collects what the command writes; plain colours unless `colors` is false (then the CLI decides). */
function capture(colors = true): TranscriptIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    ...(colors ? { colors: { out: new Chalk({ level: 0 }), err: new Chalk({ level: 0 }) } } : {}),
  };
  return io;
}

async function failure(run: Promise<void>): Promise<CliError> {
  const error = await run.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

describe('peer-signal transcript', () => {
  it('prints the peer events and a sequence per pair, and nothing on stderr', async () => {
    const io = capture();
    await runTranscript(transcriptFile(LINES), {}, io);
    expect(io.err).toBe('');
    expect(io.out.split('\n')).toEqual(
      expect.arrayContaining([
        'session.ndjson: 3 peers, 2 messages, 2 failures (0.001 s to 0.150 s)',
        '  0.150  bob    ✗ ID-TAKEN  another client asked for this id and was turned away',
        'alice ⇄ bob',
        '  0.010  alice ──OFFER─────────▶ bob  offer: application',
        '  0.014  alice ◀─ANSWER───────── bob',
        '  0.132  alice ◀─EXPIRE───────── carol  ✗ from the server: carol is unavailable',
      ]),
    );
  });

  it('prints the events as one JSON array with --json, filtered by --peer', async () => {
    const file = transcriptFile(LINES);
    const all = capture();
    await runTranscript(file, { json: true }, all);
    expect(all.out.endsWith('\n')).toBe(true);
    expect(all.out.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(all.out)).toEqual(LINES.map((line) => JSON.parse(line)));

    const carol = capture();
    await runTranscript(file, { json: true, peer: 'carol' }, carol);
    expect((JSON.parse(carol.out) as Array<{ event: string }>).map((event) => event.event)).toEqual(['queued', 'expire']);
  });

  it('shows only the events of --peer in the terminal view, and says which peer in its first line', async () => {
    const io = capture();
    await runTranscript(transcriptFile(LINES), { peer: 'bob' }, io);
    expect(io.out).toMatch(/^session\.ndjson \(peer bob\): 2 peers, 2 messages, 1 failure /);
    expect(io.out).not.toContain('carol');
  });

  it('skips a malformed line with one warning naming its line number, and shows the rest', async () => {
    const file = transcriptFile([LINES[0]!, 'not json', LINES[1]!, '{"t":3,"event":"open"}']);
    const io = capture();
    await runTranscript(file, {}, io);
    expect(io.err.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(new RegExp(`^warning: .*session\\.ndjson line 2: not JSON \\(.*\\); line skipped$`)),
      expect.stringMatching(/^warning: .*session\.ndjson line 4: "open" without "id"; line skipped$/),
    ]);
    expect(io.out).toContain('2 peers');
  });

  it('warns about the first ten bad lines one by one, then counts the rest', async () => {
    const io = capture();
    await runTranscript(transcriptFile([LINES[0]!, ...Array.from({ length: 25 }, () => '{')]), {}, io);
    const warnings = io.err.split('\n').filter(Boolean);
    expect(warnings).toHaveLength(11);
    expect(warnings[9]).toMatch(/ line 11: /);
    expect(warnings[10]).toBe('warning: 15 more malformed lines skipped');
  });

  it('fails with exit 1 and one message for a file it cannot read', async () => {
    const missing = path.join(tempDir(), 'missing.ndjson');
    const io = capture();
    const error = await failure(runTranscript(missing, {}, io));
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`cannot read ${missing} (ENOENT); pass the path of a transcript file`);
    expect(io.out).toBe('');

    const directory = path.join(tempDir(), 'dir.ndjson');
    mkdirSync(directory);
    expect((await failure(runTranscript(directory, {}, capture()))).message).toMatch(/\(EISDIR\)/);
  });

  it('fails with exit 1 when no line is a transcript event', async () => {
    const io = capture();
    const error = await failure(runTranscript(transcriptFile(['hello', 'world']), {}, io));
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/holds no transcript events \(2 lines skipped\); is it a peer-signal transcript\?$/);
    expect(io.err.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('shows an empty file as having no events', async () => {
    const io = capture();
    await runTranscript(transcriptFile([], 'empty.ndjson'), {}, io);
    expect(io.out).toBe('empty.ndjson: no events\n');
  });

  it('fails with exit 1 for a --peer the transcript does not name, suggesting the closest', async () => {
    const error = await failure(runTranscript(transcriptFile(LINES), { peer: 'alcie' }, capture()));
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/^no events in .*session\.ndjson involve peer "alcie"; did you mean "alice"\? \(its peers: alice, bob, carol\)$/);
  });

  it('fails with exit 2 for an empty --peer', async () => {
    const error = await failure(runTranscript(transcriptFile(LINES), { peer: ' ' }, capture()));
    expect(error.exitCode).toBe(2);
  });

  it('writes the HTML page with --html, says so on stderr and prints nothing', async () => {
    const out = path.join(tempDir(), 'session.html');
    const io = capture();
    await runTranscript(transcriptFile(LINES), { html: out }, io);
    expect(io.out).toBe('');
    expect(io.err).toBe(`wrote ${out}: 7 events, 3 peers\n`);
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<g class="arrow/g)).toHaveLength(4);
  });

  it('fails with exit 1 when the HTML cannot be written', async () => {
    const out = path.join(tempDir(), 'no-such-dir', 'x.html');
    const error = await failure(runTranscript(transcriptFile(LINES), { html: out }, capture()));
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`cannot write ${out} (ENOENT); pass another path to --html`);
  });

  it('takes the colour decision from the CLI: none with --no-color or NO_COLOR', async () => {
    const file = transcriptFile(LINES);
    const flag = capture(false);
    await runTranscript(file, { color: false }, flag);
    expect(flag.out).toContain('──OFFER─');
    expect(flag.out).not.toMatch(/\u001b\[/);
    vi.stubEnv('NO_COLOR', '1');
    const env = capture(false);
    await runTranscript(file, {}, env);
    expect(env.out).not.toMatch(/\u001b\[/);
  });

  it('is a commander command taking FILE, --html, --peer and --json', async () => {
    const command = createTranscriptCommand().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    expect(command.name()).toBe('transcript');
    expect(command.options.map((option) => option.long)).toEqual(['--html', '--peer', '--json']);
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    await command.parseAsync([transcriptFile(LINES), '--json', '--peer', 'carol'], { from: 'user' });
    expect(JSON.parse(written.join(''))).toHaveLength(2);
    const missing = createTranscriptCommand().exitOverride().configureOutput({ writeErr: () => {} });
    await expect(missing.parseAsync([], { from: 'user' })).rejects.toBeInstanceOf(CommanderError);
  });
});
