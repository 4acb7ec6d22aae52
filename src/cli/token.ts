// `peer-signal token <id>`: mint a signed token for a server started with --token-secret (for scripts and testing).
import { Command, Option } from 'commander';
import { isValidId } from '../signaling/protocol.js';
import { createPeerToken } from '../tokens.js';
import { addExamples, createOutput, usageError } from './output.js';
import { checkSecret, parseDurationSeconds } from './parse.js';

interface TokenOptions {
  ttl: number;
  tokenSecret?: string;
  json?: boolean;
  color?: boolean;
}

function runToken(id: string, options: TokenOptions): void {
  const output = createOutput({ color: options.color, json: options.json });
  if (!isValidId(id)) {
    throw usageError(`"${id}" is not a valid peer id; use 1-64 letters or digits, optionally separated by single "-", "_" or " "`);
  }
  if (options.tokenSecret === undefined) {
    throw usageError('no secret given; pass --token-secret or set PEER_SIGNAL_TOKEN_SECRET to the server\'s secret');
  }
  checkSecret('--token-secret', 'PEER_SIGNAL_TOKEN_SECRET', options.tokenSecret);
  const token = createPeerToken(id, options.tokenSecret, { ttlSeconds: options.ttl });
  if (options.json) {
    const expiresAt = new Date(Number(token.split('.')[1]) * 1000).toISOString();
    output.stdout(JSON.stringify({ id, token, expiresAt }) + '\n');
  } else {
    output.stdout(`${token}\n`);
  }
}

export function createTokenCommand(): Command {
  const command = new Command('token')
    .description('mint a signed token that lets <id> connect to a server started with --token-secret')
    .argument('<id>', 'the peer id the token is for')
    .addOption(new Option('--ttl <duration>', 'lifetime: seconds, or 90s, 15m, 1h, 7d').default(3600, '1h').argParser(parseDurationSeconds))
    .addOption(new Option('--token-secret <secret>', "the server's secret (prefer the env var)").env('PEER_SIGNAL_TOKEN_SECRET'))
    .addOption(new Option('--json', 'print {"id","token","expiresAt"}'))
    .action((id: string, options: TokenOptions) => runToken(id, options));
  return addExamples(command, [
    ['PEER_SIGNAL_TOKEN_SECRET=... peer-signal token alice', 'a token for the id alice, valid for an hour'],
    ['peer-signal token alice --ttl 7d --json', 'valid for a week, as {"id","token","expiresAt"}'],
  ]);
}
