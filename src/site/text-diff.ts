/**
 * A unified diff of two small texts (site config documents), for `minder config diff`. Common
 * head and tail are skipped, the rest is a longest-common-subsequence over lines; past a bound on
 * the work the middle is shown as replaced whole rather than spending seconds on it.
 */

type Op = { op: ' ' | '-' | '+'; line: string };

const MAX_CELLS = 4_000_000;

function lcsOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) return [...a.map((line) => ({ op: '-' as const, line })), ...b.map((line) => ({ op: '+' as const, line }))];
  // lengths[i][j] = LCS of a[i..] and b[j..], flattened.
  const w = m + 1;
  const len = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      len[i * w + j] = a[i] === b[j] ? (len[(i + 1) * w + j + 1] as number) + 1 : Math.max(len[(i + 1) * w + j] as number, len[i * w + j + 1] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i] as string });
      i++;
      j++;
    } else if ((len[(i + 1) * w + j] as number) >= (len[i * w + j + 1] as number)) ops.push({ op: '-', line: a[i++] as string });
    else ops.push({ op: '+', line: b[j++] as string });
  }
  while (i < n) ops.push({ op: '-', line: a[i++] as string });
  while (j < m) ops.push({ op: '+', line: b[j++] as string });
  return ops;
}

function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function lineOps(before: string, after: string): Op[] {
  const a = linesOf(before);
  const b = linesOf(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return [
    ...a.slice(0, head).map((line) => ({ op: ' ' as const, line })),
    ...lcsOps(a.slice(head, a.length - tail), b.slice(head, b.length - tail)),
    ...a.slice(a.length - tail).map((line) => ({ op: ' ' as const, line })),
  ];
}

/** `--- a` / `+++ b` / `@@ -l,n +l,n @@` hunks with `context` lines around each change; '' when equal. */
export function unifiedDiff(before: string, after: string, labelA: string, labelB: string, context = 3): string {
  const ops = lineOps(before, after);
  const changed = ops.map((o, k) => (o.op !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return '';
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  // Line numbers of each op in a and b (1-based, of the line at or after it).
  const posA: number[] = [];
  const posB: number[] = [];
  let la = 1;
  let lb = 1;
  for (const o of ops) {
    posA.push(la);
    posB.push(lb);
    if (o.op !== '+') la++;
    if (o.op !== '-') lb++;
  }
  let k = 0;
  while (k < changed.length) {
    const first = changed[k] as number;
    let last = first;
    while (k + 1 < changed.length && (changed[k + 1] as number) - last <= 2 * context + 1) last = changed[++k] as number;
    k++;
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length - 1, last + context);
    const slice = ops.slice(from, to + 1);
    const countA = slice.filter((o) => o.op !== '+').length;
    const countB = slice.filter((o) => o.op !== '-').length;
    const startA = countA === 0 ? (posA[from] as number) - 1 : (posA[from] as number);
    const startB = countB === 0 ? (posB[from] as number) - 1 : (posB[from] as number);
    out.push(`@@ -${startA},${countA} +${startB},${countB} @@`);
    for (const o of slice) out.push(`${o.op}${o.line}`);
  }
  return `${out.join('\n')}\n`;
}
