import type { Durable } from '../../src/roles/host.js';

/**
 * A party's state file in the simulator: what `persist` wrote survives a crash of the party,
 * nothing else does. Values go through JSON as they do into SQLite, so a core that persists
 * something JSON cannot carry (a Map, undefined, a cycle) fails here as it would for real.
 */
export class DurableMap implements Durable {
  private readonly kv = new Map<string, string>();
  private incarnation = 0;
  /** Called after every write; the simulator uses it to crash a party between two effects. */
  afterPut: ((key: string) => void) | null = null;

  put(key: string, value: unknown): void {
    const text = JSON.stringify(value);
    if (text === undefined) throw new Error(`persist ${key}: the value cannot be stored as JSON`);
    this.kv.set(key, text);
    this.afterPut?.(key);
  }

  get<T>(key: string): T | undefined {
    const text = this.kv.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  keys(): string[] {
    return [...this.kv.keys()];
  }

  /** A copy of the whole file, incarnation counter included (a backup, a cloned VM). */
  copy(): DurableMap {
    const c = new DurableMap();
    for (const [k, v] of this.kv) c.kv.set(k, v);
    c.incarnation = this.incarnation;
    return c;
  }

  /** Grown and kept at every start, before the first send, as LocalState does. */
  nextIncarnation(): number {
    return ++this.incarnation;
  }
}
