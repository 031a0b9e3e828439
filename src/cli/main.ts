/// <reference types="node" />
/**
 * The inpage command line's commands, apart from the entry so tests can call them.
 */
import { hashModel } from './hash.js';

const USAGE = `Usage: inpage <command>

Commands:
  hash <path/to/model.json>   Print the integrity map of the model's files as JSON,
                              for spec.integrity: { "model.json": "sha256-...", ... }
`;

/** Runs one command; resolves with the exit code. */
export async function main(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    out(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === 'hash') {
    const [path] = rest;
    if (rest.length !== 1 || path === undefined || path.startsWith('-')) {
      err('inpage hash takes one argument: the path of a model.json\n');
      return 1;
    }
    try {
      out(`${JSON.stringify(await hashModel(path), null, 2)}\n`);
      return 0;
    } catch (e) {
      err(`inpage hash: ${(e as Error).message}\n`);
      return 1;
    }
  }
  err(`Unknown command ${command}\n\n${USAGE}`);
  return 1;
}
