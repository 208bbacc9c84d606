/** Polls `probe` until it yields something other than null/false; errors count as "not yet". */
export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | false> | T | null | false, pollMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
