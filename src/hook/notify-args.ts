import type { Member, WsrepNotify } from '../protocol/verbs.js';

/**
 * The arguments mariadbd passes to wsrep_notify_cmd, as they arrive:
 *   --status synced --uuid <cluster state uuid> --primary yes --index 0 --members <uuid>/<name>/<addr>,…
 * or 8 arguments with no --members (on `disconnected`). Pure and dependency-free: the hook
 * imports it, and the hook must start fast (no zod here; the dbserver validates at its edge).
 */

export const MAX_MEMBERS = 64;
/** Keeps one datagram well under the 8 KiB hard limit even with 64 members parsed. */
const MAX_ARGV_ITEMS = 32;
const MAX_ARGV_ITEM_CHARS = 256;

export interface ParsedNotify {
  body: WsrepNotify;
  /** Options this parser did not expect; reported by the hook on stderr, never fatal. */
  problems: string[];
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export function parseMembers(list: string): { members: Member[] | null; problem: string | null } {
  if (list.trim() === '') return { members: [], problem: null };
  const items = list.split(',');
  if (items.length > MAX_MEMBERS) return { members: null, problem: `--members lists ${items.length} members (at most ${MAX_MEMBERS})` };
  const members: Member[] = [];
  for (const item of items) {
    // node-uuid/node-name/incoming-address; garbd's address is empty ("<uuid>/garb/").
    const a = item.indexOf('/');
    const b = a < 0 ? -1 : item.indexOf('/', a + 1);
    if (a <= 0 || b < 0) return { members: null, problem: `--members item "${clip(item, 80)}" is not uuid/name/address` };
    const uuid = item.slice(0, a);
    const name = item.slice(a + 1, b);
    const address = item.slice(b + 1);
    if (uuid.length > 64 || name.length > 64 || address.length > 64) {
      return { members: null, problem: `--members item "${clip(item, 80)}" has a field longer than 64 characters` };
    }
    members.push({ uuid, name, address });
  }
  return { members, problem: null };
}

export function parseNotifyArgs(argv: readonly string[]): ParsedNotify {
  const problems: string[] = [];
  const body: WsrepNotify = {
    status: '',
    uuid: null,
    primary: null,
    index: null,
    members: null,
    argv: argv.slice(0, MAX_ARGV_ITEMS).map((a) => clip(a, MAX_ARGV_ITEM_CHARS)),
  };
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i] as string;
    const eq = opt.indexOf('=');
    // Galera writes "--status synced"; accept "--status=synced" too for hand-run tests.
    const key = eq > 0 ? opt.slice(0, eq) : opt;
    const value = eq > 0 ? opt.slice(eq + 1) : argv[i + 1];
    const consumed = eq > 0 ? 0 : 1;
    switch (key) {
      case '--status':
        if (value === undefined) problems.push('--status has no value');
        else body.status = clip(value.toLowerCase(), 32);
        i += consumed;
        break;
      case '--uuid':
        if (value === undefined) problems.push('--uuid has no value');
        else body.uuid = clip(value, 64);
        i += consumed;
        break;
      case '--primary':
        if (value === 'yes' || value === 'no') body.primary = value === 'yes';
        else problems.push(`--primary "${clip(value ?? '', 20)}" is not yes or no`);
        i += consumed;
        break;
      case '--index': {
        const n = value !== undefined && /^-?\d{1,4}$/.test(value) ? Number(value) : Number.NaN;
        if (Number.isInteger(n) && n >= -1) body.index = n;
        else problems.push(`--index "${clip(value ?? '', 20)}" is not an integer ≥ -1`);
        i += consumed;
        break;
      }
      case '--members': {
        const r = parseMembers(value ?? '');
        body.members = r.members;
        if (r.problem) problems.push(r.problem);
        i += consumed;
        break;
      }
      default:
        problems.push(`unexpected argument "${clip(opt, 40)}"`);
    }
  }
  if (body.status === '') problems.push('no --status given');
  return { body, problems };
}
