#!/usr/bin/env python3
"""Document records with deterministic random vectors, for store tests.

  gen_docs.py --docs N --chunks K --dim D [--prefix /p] [--version V]
              [--seed S] [--zero] [--run RUN]

Document i is PREFIX/d<i>.md with K chunks "d<i> c<k> v<V>"; --zero makes
the last chunk of every document a zero vector with text ".".
--query writes one vector (base64) instead, for docpipe-query --vector."""
import argparse
import base64
import json
import random
import struct
import sys

p = argparse.ArgumentParser()
p.add_argument("--docs", type=int, default=1)
p.add_argument("--chunks", type=int, default=1)
p.add_argument("--dim", type=int, default=8)
p.add_argument("--prefix", default="/p")
p.add_argument("--version", type=int, default=1)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--zero", action="store_true")
p.add_argument("--run")
p.add_argument("--query", action="store_true")
a = p.parse_args()
rng = random.Random(a.seed)


def b64(v):
    return base64.b64encode(struct.pack("<%df" % len(v), *v)).decode()


if a.query:
    print(b64([rng.gauss(0, 1) for _ in range(a.dim)]))
    sys.exit(0)
for i in range(a.docs):
    chunks = []
    for k in range(a.chunks):
        zero = a.zero and k == a.chunks - 1
        v = [0.0] * a.dim if zero else [rng.gauss(0, 1) for _ in range(a.dim)]
        chunks.append({"seq": k, "text": "." if zero else "d%d c%d v%d" % (i, k, a.version), "vec": b64(v)})
    rec = {"v": 1, "kind": "document", "path": "%s/d%d.md" % (a.prefix, i), "root": a.prefix,
           "hash": "h%d-%d" % (i, a.version), "chunker": "t", "embedder": "test/e%d" % a.dim,
           "dim": a.dim, "chunks": chunks}
    if a.run:
        rec["run"] = a.run
    print(json.dumps(rec, separators=(",", ":")))
