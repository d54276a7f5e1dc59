#!/usr/bin/env python3
"""Latency of docpipe-query by mode (-k 10, best of 3 runs per question,
wall time of the whole command: connect, embed, search, print) and, on a
pgvector corpus, recall@10 of the HNSW vector side against the exact order
for several --ef-search values.

  latency.py QUESTIONS.jsonl [EF...]        (DATABASE_URL, DOCPIPE_BIN;
                                             MODES="" skips the timings;
                                             QUERY_OPTS: more docpipe-query
                                             options, e.g. "--fusion rrf")
Recall@10 counts a result as right when its score reaches the exact 10th
score (corpora with copies of a chunk have ties).

QUESTIONS.jsonl: objects with a "question" (the real-docs questions and the
chunking-eval questions both work).

BASE_BIN=DIR: an A/B against the programs in DIR (another build): each
question is timed with both, alternately (the order swapped every other
question, so that load drifting over the run weighs on both alike); the
table then has a row per build and the per-question difference
(DOCPIPE_BIN's minus BASE_BIN's).  BASE_URL=URL: the same A/B against
another database (BASE_BIN's runs, or DOCPIPE_BIN's when BASE_BIN is
not set, query URL instead of DATABASE_URL): one corpus stored by two
store builds.  REPS=N: best of N runs (default 3)."""
import base64
import json
import os
import statistics
import subprocess
import sys
import time

BIN = os.environ.get("DOCPIPE_BIN", "bin")


def run(args, inp=None):
    return subprocess.run(args, input=inp, capture_output=True, text=True, check=True).stdout


REPS = int(os.environ.get("REPS", "3"))


def best_time(args, n=REPS, env=None):
    best = None
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True, env=env)
        t = time.perf_counter() - t
        best = t if best is None or t < best else best
    return best


def vectors(questions):
    recs = "".join(json.dumps({"v": 1, "kind": "document", "path": "/q/%d" % i,
                               "chunks": [{"seq": 0, "text": q}]}) + "\n"
                   for i, q in enumerate(questions))
    out = run([os.path.join(BIN, "docpipe-embed")], recs)
    return [json.loads(l)["chunks"][0]["vec"] for l in out.splitlines()]


def exact_ids(vec_b64):
    import struct
    raw = base64.b64decode(vec_b64)
    v = struct.unpack("<%df" % (len(raw) // 4), raw)
    lit = "[" + ",".join("%.9g" % x for x in v) + "]"
    sql = ("BEGIN; SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off;"
           " SELECT 1 - (embedding <=> '%s') AS s FROM docpipe.chunks WHERE embedding IS NOT NULL"
           " ORDER BY s DESC LIMIT 10; COMMIT;" % lit)
    out = run(["psql", "-X", "-q", "-A", "-t", "-d", os.environ["DATABASE_URL"], "-c", sql])
    return [float(l) for l in out.splitlines() if l.strip()]


def main():
    questions = [json.loads(l)["question"] for l in open(sys.argv[1])]
    efs = [int(x) for x in sys.argv[2:]]
    q = os.path.join(BIN, "docpipe-query")
    modes = os.environ.get("MODES", "vector text hybrid").split()
    opts = os.environ.get("QUERY_OPTS", "").split()
    base_url = os.environ.get("BASE_URL")
    base = os.environ.get("BASE_BIN", BIN if base_url else None)
    base_env = dict(os.environ, DATABASE_URL=base_url) if base_url else None
    if modes:
        print("| mode | questions | median s | p90 s | max s |")
        print("|---|---|---|---|---|")

    def row(label, ts):
        ts = sorted(ts)
        print("| %s | %d | %.3f | %.3f | %.3f |" % (label, len(ts), statistics.median(ts),
                                                  ts[int(0.9 * (len(ts) - 1))], ts[-1]))
    for mode in modes:
        args = ["--mode", mode, "-k", "10", *opts]
        if not base:
            row(mode, [best_time([q, *args, x]) for x in questions])
            sys.stdout.flush()
            continue
        qb = os.path.join(base, "docpipe-query")
        this, other = [], []
        for i, x in enumerate(questions):
            pair = [(this, q, None), (other, qb, base_env)]
            for out, prog, env in (pair if i % 2 == 0 else pair[::-1]):
                out.append(best_time([prog, *args, x], env=env))
        labels = ("BASE_URL", "DATABASE_URL") if base_url else ("BASE_BIN", "DOCPIPE_BIN")
        row("%s (%s)" % (mode, labels[0]), other)
        row("%s (%s)" % (mode, labels[1]), this)
        row(mode + " (difference)", [a - b for a, b in zip(this, other)])
        sys.stdout.flush()
    if not efs:
        return
    vecs = vectors(questions)
    exact = [exact_ids(v) for v in vecs]
    print("\n| ef_search | recall@10 vs exact | median s (vector, -k 10) |")
    print("|---|---|---|")
    for ef in efs:
        rec, ts = [], []
        for v, ex in zip(vecs, exact):
            args = [q, "--mode", "vector", "--json", "-k", "10", "--ef-search", str(ef), "--vector", v]
            # By score, not identity: equal vectors (copies) tie, and any of
            # them is a right answer.
            got = [json.loads(l)["score"] for l in run(args).splitlines()]
            rec.append(min(len(ex), sum(1 for x in got if x >= ex[-1] - 1e-6)) / max(1, len(ex)))
            ts.append(best_time(args))
        print("| %d | %.3f | %.3f |" % (ef, statistics.mean(rec), statistics.median(ts)))
        sys.stdout.flush()


main()
