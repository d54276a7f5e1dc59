#!/usr/bin/env python3
"""Server time of docpipe-query's statements (hybrid, -k 10), an A/B of two
builds: each statement's parse, bind and execute durations from the
server's log (log_min_duration_statement 0 for the query's session, so
the server must be one whose log file this can read, e.g.
bench/search/corpus100k.sh's DIR/pg/log), summed per run, and apart the
text side's statement and the document scores' (the file ranking); best
of REPS (default 5) per question and build, the builds alternated per
question.  Less disturbed by load than latency.py's whole command (no
process start, no connection), still inflated by it.  A second table
says where the time goes: each statement's parse, bind (in a fresh
backend: planning with cold catalog caches) and execute, median and p90
over the questions, per build.

  servertime.py LOG QUESTIONS.jsonl BIN_A BIN_B      (DATABASE_URL)

BASE_URL=URL: BIN_A queries that database instead (BIN_A and BIN_B may
then be the same build): one corpus stored by two store builds.
"""
import collections
import json
import os
import re
import statistics
import subprocess
import sys

log, qf, bins = sys.argv[1], sys.argv[2], sys.argv[3:5]
reps = int(os.environ.get("REPS", "5"))
qs = [json.loads(l)["question"] for l in open(qf)]
env = dict(os.environ, PGOPTIONS="-c log_min_duration_statement=0")
base_env = dict(env, DATABASE_URL=os.environ.get("BASE_URL") or env["DATABASE_URL"])
dur = re.compile(r"duration: ([0-9.]+) ms\s+(parse|bind|execute|statement)[^:]*: (.*)")
# A statement's kind by a piece of its text (the first that matches).
KINDS = (("session setup", "pg_backend_pid()"), ("settings", "FROM docpipe.settings"),
         ("document scores", "GROUP BY len.document_id"), ("text side", "ts_rank("),
         ("result rows", "ts_headline("), ("vector (pgvector)", "<=>"),
         ("vector (real[] COPY)", "COPY ("), ("feedback vectors", "::real[]::text"),
         ("row estimate", "reltuples FROM pg_class"), ("BEGIN/SET", "BEGIN"), ("COMMIT", "COMMIT"))


def kind(sql):
    return next((k for k, piece in KINDS if piece in sql), sql[:40])


def one(i, q):
    at = os.path.getsize(log)
    subprocess.run([os.path.join(bins[i], "docpipe-query"), "--mode", "hybrid", "-k", "10", "--", q],
                   env=base_env if i == 0 else env, capture_output=True, check=True)
    parts = collections.Counter()
    with open(log, errors="replace") as f:
        f.seek(at)
        for l in f:
            m = dur.search(l)
            if m:
                parts[(kind(m.group(3)), m.group(2))] += float(m.group(1))
    tot = sum(parts.values())
    doc = sum(v for (k, _), v in parts.items() if k == "document scores")
    text = sum(v for (k, _), v in parts.items() if k == "text side")
    return tot, text, doc, parts
labels = [b + (" (BASE_URL)" if i == 0 and os.environ.get("BASE_URL") else "") for i, b in enumerate(bins)]
res = {b: [] for b in labels}
for i, q in enumerate(qs):
    for b in ((0, 1) if i % 2 == 0 else (1, 0)):
        runs = [one(b, q) for _ in range(reps)]
        res[labels[b]].append(min(runs, key=lambda r: r[0]))
bins = labels
def stat(xs):
    xs = sorted(xs)
    return "%.1f / %.1f / %.1f" % (statistics.median(xs), xs[int(0.9 * (len(xs) - 1))], xs[-1])
print("| build | all statements ms (median / p90 / max) | text side | document scores |")
print("|---|---|---|---|")
for b in bins:
    r = res[b]
    print("| %s | %s | %s | %s |" % (b, stat([x[0] for x in r]), stat([x[1] for x in r]), stat([x[2] for x in r])))
d = [a[0] - b[0] for a, b in zip(res[bins[1]], res[bins[0]])]
print("| difference (second minus first), all statements | %s | | |" % stat(d))
# Where the time goes: a statement absent from a run counts 0 there.
keys = sorted({k for b in bins for r in res[b] for k in r[3]},
              key=lambda k: -statistics.median([r[3][k] for r in res[bins[0]]]))
print("\n| statement, step | %s |" % " | ".join("%s: median / p90 ms" % b for b in bins))
print("|---|%s" % ("---|" * len(bins)))
for k in keys:
    cells = []
    for b in bins:
        xs = sorted(r[3][k] for r in res[b])
        cells.append("%.2f / %.2f" % (statistics.median(xs), xs[int(0.9 * (len(xs) - 1))]))
    print("| %s, %s | %s |" % (k[0], k[1], " | ".join(cells)))
