#!/usr/bin/env python3
"""Retrieval quality of docpipe-query, by mode (bench/search/run.sh drives it).

  eval.py chunking CHUNKS.ndjson QUESTIONS.jsonl VARIANT...
      token-level recall@5 / IoU@5 (and @k = chunks overlapping the
      references, capped at 20) on ../shared/eval/chunking, method of its
      README: byte ranges of the retrieved chunks against the reference
      passages.  CHUNKS.ndjson: the chunker's records, to locate each chunk
      (path, seq) in its file.
  eval.py files CORPUS QUESTIONS.jsonl VARIANT...
      real-docs questions: is an expected file among the top 5 / first?

A VARIANT is a label and docpipe-query options, e.g. "hybrid:--mode hybrid".
DATABASE_URL selects the database; DOCPIPE_BIN the binaries."""
import json
import os
import statistics
import subprocess
import sys

BIN = os.environ.get("DOCPIPE_BIN", "bin")


def query(question, opts, k, extra=()):
    out = subprocess.run([os.path.join(BIN, "docpipe-query"), "--json", "-k", str(k), *opts, *extra,
                          "--", question], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write("query failed (%d): %s: %s" % (out.returncode, question, out.stderr))
        return []
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def variants(args):
    for a in args:
        label, _, opts = a.partition(":")
        yield label, opts.split()


def chunk_ranges(path):
    """(path, seq) -> (start, end) byte range, found verbatim in the file."""
    ranges = {}
    for line in open(path):
        d = json.loads(line)
        data = open(d["path"], "rb").read()
        pos = 0
        for c in d["chunks"]:
            t = c["text"].encode()
            i = data.find(t, pos)
            if i < 0:
                i = data.find(t)
            if i < 0:
                raise SystemExit("chunk %s/%d not found in its file" % (d["path"], c["seq"]))
            ranges[(d["path"], c["seq"])] = (i, i + len(t))
            pos = i + 1
    return ranges


def union_len(spans):
    total, end = 0, -1
    for s, e in sorted(spans):
        if e <= end:
            continue
        total += e - max(s, end)
        end = e
    return total


def overlap(spans, refs):
    """|union(spans) ∩ union(refs)|"""
    cut = []
    for s, e in spans:
        for rs, re_ in refs:
            a, b = max(s, rs), min(e, re_)
            if a < b:
                cut.append((a, b))
    return union_len(cut)


def score(spans, refs):
    ref_len = union_len(refs)
    inter = overlap(spans, refs)
    retrieved = sum(e - s for s, e in spans)
    recall = inter / ref_len if ref_len else 0.0
    iou = inter / (retrieved + ref_len - inter) if retrieved + ref_len else 0.0
    return recall, iou


def chunking(chunks_file, questions_file, args):
    ranges = chunk_ranges(chunks_file)
    by_path = {}
    for (p, seq), r in ranges.items():
        by_path.setdefault(p, []).append(r)
    questions = [json.loads(l) for l in open(questions_file)]
    corpora = sorted({q["corpus"] for q in questions})
    print("| variant | corpus | recall@5 | IoU@5 | recall@k | IoU@k |")
    print("|---|---|---|---|---|---|")
    for label, opts in variants(args):
        res = {}
        for q in questions:
            refs = [(r["start"], r["end"]) for r in q["references"]]
            path = next(p for p in by_path if os.path.basename(p) == q["corpus"] + ".md")
            need = sum(1 for s, e in by_path[path] if overlap([(s, e)], refs) > 0)
            kq = max(1, min(need, 20))
            hits = query(q["question"], opts, max(5, kq), ["--path", "*/" + q["corpus"] + ".md"])
            spans = [ranges[(h["path"], h["seq"])] for h in hits]
            res.setdefault(q["corpus"], []).append(score(spans[:5], refs) + score(spans[:kq], refs))
        for c in corpora + ["all"]:
            rows = [r for cc in corpora for r in res[cc]] if c == "all" else res[c]
            m = [statistics.mean(r[i] for r in rows) for i in range(4)]
            print("| %s | %s | %.3f | %.3f | %.3f | %.3f |" % (label, c, *m))
        sys.stdout.flush()


def files(corpus, questions_file, args):
    questions = [json.loads(l) for l in open(questions_file)]
    questions = [q for q in questions if q["corpus"] == corpus]
    print("| variant | corpus | questions | file in top 5 | file first |")
    print("|---|---|---|---|---|")
    for label, opts in variants(args):
        top5 = first = 0
        misses = []
        for q in questions:
            hits = query(q["question"], opts, 5)
            ok = [any(e in h["path"] for e in q["expect"]) for h in hits]
            top5 += any(ok)
            first += bool(ok) and ok[0]
            if not any(ok):
                misses.append(q["question"])
        print("| %s | %s | %d | %d (%.0f%%) | %d |" % (label, corpus, len(questions), top5,
                                                   100.0 * top5 / len(questions), first))
        for m in misses:
            print("|  | missed: %s | | | |" % m)
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1] == "chunking":
        chunking(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        files(sys.argv[2], sys.argv[3], sys.argv[4:])
