#!/usr/bin/env python3
"""Compares fusion rules offline on the chunking eval: fetches each side's
top 50 once per question (docpipe-query --mode vector / --mode text), then
fuses them in Python with several rules and reports recall@5 per corpus.
  fusion.py CHUNKS.ndjson QUESTIONS.jsonl      (DATABASE_URL, DOCPIPE_BIN)
  fusion.py files CORPUS QUESTIONS.jsonl: the same on real-docs questions
      (expected file among the top 5)."""
import json
import statistics
import sys

import eval as ev


def fuse_rrf(v, t, k, wv=1.0, wt=1.0):
    s = {}
    for i, h in enumerate(v):
        s[h] = s.get(h, 0) + wv / (k + i + 1)
    for i, h in enumerate(t):
        s[h] = s.get(h, 0) + wt / (k + i + 1)
    return sorted(s, key=lambda h: -s[h])


def fuse_rel(v, vs, t, ts, alpha):
    """relative score fusion: min-max normalized scores, alpha on text."""
    def norm(xs):
        if not xs:
            return []
        lo, hi = min(xs), max(xs)
        return [(x - lo) / (hi - lo) if hi > lo else 1.0 for x in xs]
    s = {}
    for h, x in zip(v, norm(vs)):
        s[h] = s.get(h, 0) + (1 - alpha) * x
    for h, x in zip(t, norm(ts)):
        s[h] = s.get(h, 0) + alpha * x
    return sorted(s, key=lambda h: -s[h])


def main():
    files = sys.argv[1] == "files"
    ranges = None if files else ev.chunk_ranges(sys.argv[1])
    questions = [json.loads(l) for l in open(sys.argv[3 if files else 2])]
    if files:
        questions = [q for q in questions if q["corpus"] == sys.argv[2]]
    rules = {
        "vector": lambda v, vs, t, ts: v, "text": lambda v, vs, t, ts: t,
        "rrf60": lambda v, vs, t, ts: fuse_rrf(v, t, 60),
        "rrf10": lambda v, vs, t, ts: fuse_rrf(v, t, 10),
        "rrf60 wt2": lambda v, vs, t, ts: fuse_rrf(v, t, 60, 1, 2),
        "rrf10 wt2": lambda v, vs, t, ts: fuse_rrf(v, t, 10, 1, 2),
        "rrf5 wt3": lambda v, vs, t, ts: fuse_rrf(v, t, 5, 1, 3),
        "rel .5": lambda v, vs, t, ts: fuse_rel(v, vs, t, ts, 0.5),
        "rel .7": lambda v, vs, t, ts: fuse_rel(v, vs, t, ts, 0.7),
        "rel .8": lambda v, vs, t, ts: fuse_rel(v, vs, t, ts, 0.8),
        "rel .9": lambda v, vs, t, ts: fuse_rel(v, vs, t, ts, 0.9),
        "rrf60 wt3": lambda v, vs, t, ts: fuse_rrf(v, t, 60, 1, 3),
        "rrf20 wt2": lambda v, vs, t, ts: fuse_rrf(v, t, 20, 1, 2),
        "rrf5 wt2": lambda v, vs, t, ts: fuse_rrf(v, t, 5, 1, 2),
        "rrf1 wt2": lambda v, vs, t, ts: fuse_rrf(v, t, 1, 1, 2),
    }
    res = {r: {} for r in rules}
    for q in questions:
        refs = None if files else [(r["start"], r["end"]) for r in q["references"]]
        f = [] if files else ["--path", "*/" + q["corpus"] + ".md"]
        vh = ev.query(q["question"], ["--mode", "vector"], 50, f)
        th = ev.query(q["question"], ["--mode", "text"], 50, f)
        v = [(h["path"], h["seq"]) for h in vh]
        t = [(h["path"], h["seq"]) for h in th]
        vs = [h["score"] for h in vh]
        ts = [h["score"] for h in th]
        for r, fn in rules.items():
            top = fn(v, vs, t, ts)[:5]
            got = (float(any(e in p for p, _ in top for e in q["expect"])) if files
                   else ev.score([ranges[h] for h in top], refs)[0])
            res[r].setdefault(q["corpus"], []).append(got)
    corpora = sorted({q["corpus"] for q in questions})
    print("| rule | " + " | ".join(corpora) + " | all |")
    print("|---" * (len(corpora) + 2) + "|")
    for r in rules:
        allr = [x for c in corpora for x in res[r][c]]
        print("| %s | %s | %.3f |" % (r, " | ".join("%.3f" % statistics.mean(res[r][c]) for c in corpora),
                                      statistics.mean(allr)))


main()
