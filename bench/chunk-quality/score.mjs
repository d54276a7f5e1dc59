// Scoring of the token-level retrieval evaluation (../shared/eval/chunking/README.md),
// on byte ranges [start, end).  Pure functions, tested by
// tests/integration/chunk_eval_score.sh on a hand-computed example.

// Sorted, merged copy of ranges [[s, e], ...].
export function union(ranges) {
  const r = ranges.filter(([s, e]) => e > s).map(([s, e]) => [s, e]).sort((a, b) => a[0] - b[0]);
  const out = [];
  for (const [s, e] of r) {
    if (out.length && s <= out[out.length - 1][1]) out[out.length - 1][1] = Math.max(out[out.length - 1][1], e);
    else out.push([s, e]);
  }
  return out;
}

// Bytes in both of two merged range lists.
export function overlap(a, b) {
  let i = 0, j = 0, n = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i][0], b[j][0]), hi = Math.min(a[i][1], b[j][1]);
    if (hi > lo) n += hi - lo;
    if (a[i][1] < b[j][1]) i++; else j++;
  }
  return n;
}

// One question: retrieved chunk ranges (overlaps between them counted once in
// the intersection, every retrieved byte counted in the denominators) against
// its reference ranges.  Returns {recall, precision, iou}.
export function score(retrieved, references) {
  const refs = union(references);
  const refLen = refs.reduce((n, [s, e]) => n + e - s, 0);
  const got = overlap(union(retrieved), refs);
  const sum = retrieved.reduce((n, [s, e]) => n + e - s, 0);
  return {
    recall: refLen ? got / refLen : 0,
    precision: sum ? got / sum : 0,
    iou: sum + refLen - got ? got / (sum + refLen - got) : 0,
  };
}

// docpipe's token estimate (src/lib/text.h): ceil(ASCII bytes / 4) + other code points.
export function tokens(text) {
  let ascii = 0, other = 0;
  for (const ch of text) (ch.codePointAt(0) < 0x80 ? ascii++ : other++);
  return Math.ceil(ascii / 4) + other;
}

export function meanStd(xs) {
  const m = xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  const v = xs.reduce((a, b) => a + (b - m) * (b - m), 0) / (xs.length || 1);
  return [m, Math.sqrt(v)];
}
