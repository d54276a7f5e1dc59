#!/usr/bin/env python3
"""Writes docpipe `document` records (NDJSON) with random vectors, for the
store's tests and benchmark.  Deterministic for a given --seed.

  store-gen.py --docs N --chunks K --dim D [--root R] [--run RUN]
               [--version V] [--embedder E] [--start I] [--clusters C]

--clusters C draws each vector near one of C fixed centres (Gaussian
noise), like real embeddings, instead of uniformly (the worst case for
HNSW recall); --queries N writes N such vectors as "[a,b,...]" lines
instead of documents (query vectors for recall measurements).

Document i is ROOT/doc<i>.md; --version changes its text and hash.

  store-gen.py --near-copies N < chunked.ndjson | docpipe-embed

instead writes N near-copies of every chunked document record read (real
text, for real embeddings): copy i drops every (i+2)-th word of each
chunk's text and lives under /copy<i>; the vectors come from docpipe-embed.
Near-duplicates everywhere: a hard case for approximate indexes."""
import argparse
import base64
import hashlib
import json
import random
import struct
import sys


def values(rng, dim, centres):
    if not centres:
        return [rng.uniform(-1, 1) for _ in range(dim)]
    c = centres[rng.randrange(len(centres))]
    return [x + rng.gauss(0, 0.35) for x in c]


def vec(rng, dim, centres):
    return base64.b64encode(struct.pack("<%df" % dim, *values(rng, dim, centres))).decode()


def near_copies(n):
    docs = [json.loads(l) for l in sys.stdin]
    docs = [d for d in docs if d.get("kind") == "document" and d.get("chunks")]
    for i in range(n):
        for d in docs:
            c = dict(d, path="/copy%d%s" % (i, d["path"]), root="/copy%d" % i)
            c["hash"] = hashlib.md5(("%s %s" % (c["path"], d.get("hash"))).encode()).hexdigest()
            c["chunks"] = []
            for ch in d["chunks"]:
                words = ch["text"].split(" ")
                kept = [w for j, w in enumerate(words) if (j + 1) % (i + 2) != 0] or words
                c["chunks"].append(dict(ch, text=" ".join(kept)))
            sys.stdout.write(json.dumps(c, separators=(",", ":")) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--docs", type=int, default=10)
    p.add_argument("--chunks", type=int, default=3)
    p.add_argument("--dim", type=int, default=8)
    p.add_argument("--root", default="/corpus")
    p.add_argument("--run")
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--embedder", default="local/fh-v1")
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--clusters", type=int, default=0)
    p.add_argument("--queries", type=int, default=0)
    p.add_argument("--near-copies", type=int, default=0)
    a = p.parse_args()
    if a.near_copies:
        return near_copies(a.near_copies)
    crng = random.Random(12345)
    centres = [[crng.uniform(-1, 1) for _ in range(a.dim)] for _ in range(a.clusters)]
    rng = random.Random(a.seed)
    out = sys.stdout
    if a.queries:
        for _ in range(a.queries):
            out.write("[%s]\n" % ",".join("%.6g" % x for x in values(rng, a.dim, centres)))
        return
    for i in range(a.start, a.start + a.docs):
        path = "%s/doc%d.md" % (a.root, i)
        chunks = []
        for k in range(a.chunks):
            chunks.append({"seq": k, "text": "Document %d, chunk %d, version %d." % (i, k, a.version),
                           "heading": ["Doc %d" % i, "Part %d" % k], "tokens": 8,
                           "vec": vec(rng, a.dim, centres)})
        rec = {"v": 1, "kind": "document", "path": path, "root": a.root, "size": 100 + i,
               "mtime": 1700000000.25, "hash": hashlib.md5(("%s %d" % (path, a.version)).encode()).hexdigest(),
               "format": "markdown", "chunker": "md4c-v1 max=512 overlap=64", "chunks": chunks,
               "summary": "Summary of document %d." % i, "summarizer": "local/extractive-v1",
               "embedder": a.embedder, "dim": a.dim, "meta": {"n": i}, "seq": i}
        if a.run:
            rec["run"] = a.run
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")


main()
