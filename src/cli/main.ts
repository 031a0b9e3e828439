/// <reference types="node" />
/**
 * The inpage command line's commands, apart from the entry so tests can call them.
 */
import { readFile } from 'node:fs/promises';
import { InpageError } from '../errors.js';
import { hashModel } from './hash.js';
import { formatReport, inspectModel } from './inspect.js';
import { readModel } from './source.js';
import { labelsWarning, metadataLabels, parseLabels, schemaDeclaration } from './types.js';

interface Command {
  usage: string;
  /** Flags and whether each takes a value. */
  flags: Record<string, boolean>;
  run(path: string, flags: Map<string, string | true>, out: (s: string) => void, err: (s: string) => void): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  hash: {
    usage: `Usage: inpage hash <path/or/url/model.json>

Prints the integrity map of model.json and every shard it lists, as JSON, for
spec.integrity: { "model.json": "sha256-...", "group1-shard1of1.bin": "sha256-..." }
`,
    flags: {},
    async run(path, _flags, out) {
      out(`${JSON.stringify(await hashModel(path), null, 2)}\n`);
    },
  },
  inspect: {
    usage: `Usage: inpage inspect <path/or/url/model.json> [--json]

Prints what the model is and whether each backend can run it: format (graph or
layers), producer, inputs and outputs (dtype, shape; ? is a free dimension),
whether it needs executeAsync (control flow) and can be batched, every op with
its count and the backends (webgpu, webgl, wasm, cpu) that have its kernels,
weight bytes by dtype (float16/uint8 quantization shown) and shard sizes.

Options:
  --json   The same as JSON.
`,
    flags: { json: false },
    async run(path, flags, out) {
      const report = inspectModel(await readModel(path));
      out(flags.has('json') ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    },
  },
  types: {
    usage: `Usage: inpage types <path/or/url/model.json> [--name Emotion] [--labels labels.json]

Prints a TypeScript declaration of the model's schema, for typed run() outputs:
  export interface EmotionSchema { inputs: 'input_1'; outputs: 'logits'; labels?: ... }
  const model = await runtime.load<EmotionSchema>({ url });

Options:
  --name <Name>      The interface is <Name>Schema (default: from the file or folder name).
  --labels <file>    Class names (a JSON list, or one a line) for a label union; by default
                     model.json's userDefinedMetadata.labels (or .classes), if any.
`,
    flags: { name: true, labels: true },
    async run(path, flags, out, err) {
      const src = await readModel(path);
      const labelsFile = flags.get('labels');
      let labels: string[] | undefined;
      if (typeof labelsFile === 'string') {
        let text: string;
        try {
          text = await readFile(labelsFile, 'utf8');
        } catch (e) {
          throw new Error(`Could not read ${labelsFile}: ${(e as Error).message}`);
        }
        labels = parseLabels(text, labelsFile);
      }
      const named = labels ?? metadataLabels(src.json);
      const warning = named && labelsWarning(src, named);
      if (warning) err(`inpage types: warning: ${warning}\n`);
      const name = flags.get('name');
      out(schemaDeclaration(src, { ...(typeof name === 'string' ? { name } : {}), ...(labels ? { labels } : {}) }));
    },
  },
};

const USAGE = `Usage: inpage <command> [options]

Commands:
  inspect <model.json> [--json]                    What the model is; which backends can run it
  types <model.json> [--name N] [--labels file]    A TypeScript schema for runtime.load<NSchema>()
  hash <model.json>                                The integrity map of the model's files (JSON)

<model.json> is a path or an http(s) URL. Run inpage <command> --help for details.
`;

/** Splits `args` into one positional argument and known flags; a string is the error. */
function parseArgs(cmd: Command, args: string[]): { path: string; flags: Map<string, string | true> } | string {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--') || a === '--') {
      if (a !== '--') positional.push(a);
      continue;
    }
    const [key = '', inline] = a.slice(2).split(/=(.*)/s, 2);
    if (!(key in cmd.flags)) return `unknown option --${key}`;
    if (cmd.flags[key]) {
      const value = inline ?? args[++i];
      if (value === undefined || value === '') return `--${key} needs a value`;
      flags.set(key, value);
    } else {
      if (inline !== undefined) return `--${key} takes no value`;
      flags.set(key, true);
    }
  }
  if (positional.length !== 1) return positional.length ? `one model.json expected, got ${positional.length} arguments` : 'the path or URL of a model.json is missing';
  return { path: positional[0] as string, flags };
}

/** Runs one command; resolves with the exit code (0 ok, 1 bad input or a failure). */
export async function main(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !(topic in COMMANDS)) {
      err(`inpage: unknown command ${topic}\n\n${USAGE}`);
      return 1;
    }
    (command === undefined ? err : out)(topic ? (COMMANDS[topic] as Command).usage : USAGE);
    return command === undefined ? 1 : 0;
  }
  const cmd = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!cmd) {
    err(`inpage: unknown command ${command}\n\n${USAGE}`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(cmd.usage);
    return 0;
  }
  const parsed = parseArgs(cmd, rest);
  if (typeof parsed === 'string') {
    err(`inpage ${command}: ${parsed}\n\n${cmd.usage}`);
    return 1;
  }
  try {
    await cmd.run(parsed.path, parsed.flags, out, err);
    return 0;
  } catch (e) {
    // Coded errors read as the runtime reports them: `MODEL_LOAD_FAILED: model.json is not JSON: ...`.
    const msg = e instanceof InpageError ? `${e.code}: ${e.message}` : (e as Error).message;
    err(`inpage ${command}: ${msg}\n`);
    return 1;
  }
}
