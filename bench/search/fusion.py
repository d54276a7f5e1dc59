#!/usr/bin/env python3
"""Compares fusion rules offline: each side's top 50 (docpipe-query
--mode vector / --mode text, the real hybrid's pools) is fetched once per
question and saved; the rules then fuse the saved rankings.  The vector
side is the question's own vector: hybrid's pseudo-relevance feedback
(docpipe-query --prf) is not reproduced, so a rule here equals
docpipe-query with --prf 0.

  fusion.py dump OUT.json chunking CHUNKS.ndjson QUESTIONS.jsonl
  fusion.py dump OUT.json files CORPUS QUESTIONS.jsonl
      (DATABASE_URL, DOCPIPE_BIN) saves the rankings, with what scores
      them: byte ranges and references (chunking eval), expected files.
  fusion.py eval DUMP.json...
      recall@5 (chunking eval) or expected file in the top 5 (real docs)
      per rule and corpus, one table per dump.

The rules mirror src/query/fuse.c ("rrf k K wt W", "text-guard ...") and
alternatives measured against it (docs/PERFORMANCE.md, issue 11)."""
import json
import math
import statistics
import sys

import eval as ev

POOL = 50


def dump(out, kind, args):
    questions = [json.loads(l) for l in open(args[-1])]
    ranges = None
    if kind == "chunking":
        ranges = ev.chunk_ranges(args[0])
    else:
        questions = [q for q in questions if q["corpus"] == args[0]]
    rows = []
    for q in questions:
        f = ["--path", "*/" + q["corpus"] + ".md"] if ranges else []
        row = {"corpus": q["corpus"], "question": q["question"]}
        for side in ("vector", "text"):
            hits = ev.query(q["question"], ["--mode", side, "--per-document", "0"], POOL, f)
            row[side] = [[h["path"], h["seq"], h["score"]] +
                         (list(ranges[(h["path"], h["seq"])]) if ranges else []) for h in hits]
        if ranges:
            row["refs"] = [(r["start"], r["end"]) for r in q["references"]]
        else:
            row["expect"] = q["expect"]
        rows.append(row)
    json.dump({"kind": kind, "rows": rows}, open(out, "w"))


def rrf(v, t, k, wt):
    s = {}
    for i, h in enumerate(v):
        s[h] = s.get(h, 0) + 1.0 / (k + i + 1)
    for i, h in enumerate(t):
        s[h] = s.get(h, 0) + wt / (k + i + 1)
    return sorted(s, key=lambda h: -s[h])


def minmax(xs):
    if not xs:
        return []
    lo, hi = min(xs), max(xs)
    return [(x - lo) / (hi - lo) if hi > lo else 1.0 for x in xs]


def zscore(xs):
    """Standard scores over the pool; a pool of equal scores (or one hit)
    gets 1 for every hit, the others 0 (see score_fusion's floor)."""
    if not xs:
        return []
    m, sd = statistics.mean(xs), statistics.pstdev(xs)
    return [(x - m) / sd for x in xs] if sd > 0 else [1.0] * len(xs)


def score_fusion(v, vs, t, ts, wt, norm, floor=0.0):
    """Normalized score fusion (CombSUM): vector's normalized score plus
    wt times text's.  A chunk missing from a side gets that side's lowest
    normalized score minus floor, or 0 when all its scores are equal (its
    hits then count 1): src/query/fuse.c's zscore rule."""
    def side(hits, xs):
        n = dict(zip(hits, norm(xs)))
        low = min(n.values()) - floor if xs and max(xs) > min(xs) else 0.0
        return n, low
    (nv, lv), (nt, lt) = side(v, vs), side(t, ts)
    s = {h: nv.get(h, lv) + wt * nt.get(h, lt) for h in list(nv) + list(nt)}
    return sorted(s, key=lambda h: -s[h])


def zunion(v, vs, t, ts, wt):
    """z-scores over the union of both pools; a chunk a side did not rank
    scores that side's lowest score, or 0 when the side's list is shorter
    than the pool (it ranked every chunk it could score)."""
    u = list(dict.fromkeys(v + t))
    def side(hits, xs):
        imp = min(xs) if len(xs) >= POOL else 0.0
        d = dict(zip(hits, xs))
        return zscore_flat([d.get(h, imp) for h in u])
    zv, zt = side(v, vs), side(t, ts)
    s = {h: zv[i] + wt * zt[i] for i, h in enumerate(u)}
    return sorted(u, key=lambda h: -s[h])


def zscore_flat(xs):
    if not xs:
        return []
    m, sd = statistics.mean(xs), statistics.pstdev(xs)
    return [(x - m) / sd if sd > 0 else 0.0 for x in xs]


def diverse(ranked, cap):
    """At most cap chunks per document first, the others after them."""
    seen, head, tail = {}, [], []
    for h in ranked:
        seen[h[0]] = seen.get(h[0], 0) + 1
        (head if seen[h[0]] <= cap else tail).append(h)
    return head + tail


def peaked(xs, n=10):
    """How far the best score stands above the rest of the top n, in
    standard deviations of the top n (0 when flat)."""
    xs = xs[:n]
    if len(xs) < 2:
        return 0.0
    sd = statistics.pstdev(xs)
    return (xs[0] - statistics.mean(xs)) / sd if sd > 0 else 0.0


def dynamic(v, vs, t, ts, k, wt):
    """RRF whose text weight grows with how peaked text's scores are
    relative to vector's."""
    pv, pt = peaked(vs), peaked(ts)
    w = wt * (pt + 1e-9) / (pv + 1e-9) if pv > 0 else wt
    return rrf(v, t, k, max(0.5, min(w, 8.0)))


def text_guard(v, t, k, wt, keep):
    """Text's first `keep` hits stay on top (in text order); the rest is
    RRF."""
    head = t[:keep]
    rest = [h for h in rrf(v, t, k, wt) if h not in head]
    return head + rest


def rerank(v, t, k, wt, n):
    """RRF over text's top n only: vector re-orders text's candidates,
    brings none of its own."""
    tt = t[:n]
    vv = [h for h in v if h in set(tt)]
    return rrf(vv, tt, k, wt) + [h for h in t[n:]]


RULES = {
    "vector": lambda v, vs, t, ts: v,
    "text": lambda v, vs, t, ts: t,
}
for _k in (1, 5, 10, 20, 60):
    for _w in (1, 1.5, 2, 3, 4):
        RULES["rrf k %d wt %g" % (_k, _w)] = (lambda k, w: lambda v, vs, t, ts: rrf(v, t, k, w))(_k, _w)
for _a in (1, 1.5, 2, 3):
    RULES["minmax wt %g" % _a] = (lambda a: lambda v, vs, t, ts: score_fusion(v, vs, t, ts, a, minmax))(_a)
    RULES["zscore wt %g" % _a] = (lambda a: lambda v, vs, t, ts: score_fusion(v, vs, t, ts, a, zscore))(_a)
for _w in (1, 1.5, 2, 3):
    RULES["zunion wt %g" % _w] = (lambda w: lambda v, vs, t, ts: zunion(v, vs, t, ts, w))(_w)
    RULES["zunion wt %g cap 2" % _w] = (lambda w: lambda v, vs, t, ts: diverse(zunion(v, vs, t, ts, w), 2))(_w)
for _f in (0.5, 1):
    RULES["zscore wt 2 floor %g" % _f] = (lambda f: lambda v, vs, t, ts: score_fusion(v, vs, t, ts, 2, zscore, f))(_f)
for _c in (1, 2, 3):
    RULES["zscore wt 2 cap %d" % _c] = (lambda c: lambda v, vs, t, ts: diverse(score_fusion(v, vs, t, ts, 2, zscore), c))(_c)
    RULES["vector cap %d" % _c] = (lambda c: lambda v, vs, t, ts: diverse(v, c))(_c)
    RULES["text cap %d" % _c] = (lambda c: lambda v, vs, t, ts: diverse(t, c))(_c)
    RULES["rrf k 10 wt 2 cap %d" % _c] = (lambda c: lambda v, vs, t, ts: diverse(rrf(v, t, 10, 2), c))(_c)
for _k, _w in ((10, 1), (10, 2), (60, 1), (60, 2)):
    RULES["dynamic k %d wt %g" % (_k, _w)] = (lambda k, w: lambda v, vs, t, ts: dynamic(v, vs, t, ts, k, w))(_k, _w)
for _keep in (1, 2):
    for _k, _w in ((10, 2), (10, 1), (60, 1)):
        RULES["text-guard %d k %d wt %g" % (_keep, _k, _w)] = (
            lambda keep, k, w: lambda v, vs, t, ts: text_guard(v, t, k, w, keep))(_keep, _k, _w)
for _n in (10, 20, 50):
    for _k, _w in ((10, 1), (10, 2), (60, 1)):
        RULES["rerank %d k %d wt %g" % (_n, _k, _w)] = (
            lambda n, k, w: lambda v, vs, t, ts: rerank(v, t, k, w, n))(_n, _k, _w)


def evaluate(path, rules):
    d = json.load(open(path))
    res = {r: {} for r in rules}
    for row in d["rows"]:
        v = [(h[0], h[1]) for h in row["vector"]]
        t = [(h[0], h[1]) for h in row["text"]]
        vs = [h[2] for h in row["vector"]]
        ts = [h[2] for h in row["text"]]
        where = {(h[0], h[1]): h[3:] for h in row["vector"] + row["text"]}
        for r in rules:
            top = RULES[r](v, vs, t, ts)[:5]
            if d["kind"] == "chunking":
                got = ev.score([tuple(where[h]) for h in top], row["refs"])[0]
            else:
                got = float(any(e in p for p, _ in top for e in row["expect"]))
            res[r].setdefault(row["corpus"], []).append(got)
    return d["kind"], res


def main():
    if sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    paths = sys.argv[2:]
    rules = list(RULES)
    for p in paths:
        kind, res = evaluate(p, rules)
        corpora = sorted(next(iter(res.values())))
        print("\n%s (%s)\n" % (p, "recall@5" if kind == "chunking" else "file in top 5"))
        print("| rule | " + " | ".join(corpora) + " | all |")
        print("|---" * (len(corpora) + 2) + "|")
        for r in rules:
            allr = [x for c in corpora for x in res[r][c]]
            fmt = "%.3f" if kind == "chunking" else "%.0f"
            vals = [statistics.mean(res[r][c]) if kind == "chunking" else sum(res[r][c])
                    for c in corpora]
            tot = statistics.mean(allr) if kind == "chunking" else sum(allr)
            print("| %s | %s | %s |" % (r, " | ".join(fmt % x for x in vals), fmt % tot))


main()
