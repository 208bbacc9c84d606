import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execute } from './execute.js';
import { complete, HELP, parseWords, tokenize } from './parse.js';
import type { Session } from './session.js';

export const HISTORY_SIZE = 500;

/** Where the prompt keeps its history between sessions ($MINDER_HISTORY, else ~/.minder_history). */
export function historyFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.MINDER_HISTORY || join(homedir(), '.minder_history');
}

function loadHistory(path: string): string[] {
  try {
    // readline wants the newest first.
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-HISTORY_SIZE)
      .reverse();
  } catch {
    return [];
  }
}

function saveHistory(path: string, newestFirst: readonly string[]): void {
  try {
    writeFileSync(path, `${[...newestFirst].slice(0, HISTORY_SIZE).reverse().join('\n')}\n`, { mode: 0o600 });
  } catch {
    // A history that cannot be kept is no reason to fail the operator's session.
  }
}

function promptText(paused: boolean | undefined): string {
  return paused ? 'minder (PAUSED)> ' : 'minder> ';
}

/**
 * The interactive prompt: history (kept in a file), `help`, tab completion of verbs and node
 * names. Each line is one request; a failure is printed and the prompt stays. Ends on `quit`
 * or end of input.
 */
export async function interactive(session: Session, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Promise<number> {
  const path = historyFile();
  const terminal = (input as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({
    input,
    output,
    terminal,
    history: loadHistory(path),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: (line: string) => complete(line, session.names),
  });
  const c = session.client;
  output.write(`minder command: site ${session.cfg.site}, ${c.arbitrator} at ${c.where}, as ${c.post.self} (operator ${session.operator}). Type help, or quit.\n`);
  let paused: boolean | undefined;
  rl.setPrompt(promptText(paused));
  rl.prompt();
  let busy = Promise.resolve();
  let closed = false;
  const done = new Promise<void>((resolve) =>
    rl.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  rl.on('line', (line) => {
    // One request at a time, in the order typed.
    busy = busy.then(async () => {
      if (closed) return;
      const words = tokenize(line);
      if (!words.ok) output.write(`${words.error}\n`);
      else if (words.words.length > 0) {
        const parsed = parseWords(words.words, session.names);
        if (!parsed.ok) output.write(`${parsed.error}\n(type help)\n`);
        else if (parsed.command.verb === 'quit') {
          rl.close();
          return;
        } else if (parsed.command.verb === 'help') output.write(`${HELP}\n`);
        else {
          const r = await execute(c, parsed.command, session.operator);
          if (r.out) output.write(r.out);
          if (r.err) output.write(r.err);
          if (r.paused !== undefined) paused = r.paused;
        }
      }
      if (!closed) {
        rl.setPrompt(promptText(paused));
        rl.prompt();
      }
    });
  });
  await done;
  await busy;
  if (terminal) saveHistory(path, (rl as unknown as { history: string[] }).history ?? []);
  output.write('\n');
  return 0;
}
