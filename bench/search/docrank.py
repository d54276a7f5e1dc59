#!/usr/bin/env python3
"""Document-level ranking signals for issue 11, measured offline before any C
(session 54, helper h54b: docs/PERFORMANCE.md, "Issue 11: ranking files,
not chunks").

  docrank.py dump OUT.json CORPUS QUESTIONS.jsonl...
      (DATABASE_URL, DOCPIPE_BIN) saves, for every question of CORPUS:
      docpipe-query's top POOL chunks by mode (hybrid, text, vector; the
      real program, feedback included), the question's lexemes (the
      server's to_tsvector('english'): docpipe's lexer agrees with it,
      bench/search/lexer-agree.sh), and the corpus's term statistics: every
      chunk's path, heading, length and lexemes (occurrences by weight).
  docrank.py eval DUMP.json...
      expected file in the top 5 per variant and question set, the variants
      re-ranking the saved pools with file-level scores (see VARIANTS; ONLY=
      'A|B' only the variants whose label holds A or B; MISSES=1 lists the
      misses).  LSA variants need numpy (/usr/bin/python3 with Debian's
      python3-numpy).
  docrank.py misses DUMP.json...
      the held-out questions hybrid misses: the right file's rank in each
      pool and by the file BM25, and the question's terms it lacks.
  ANCHORS=DIR docrank.py eval|misses DUMP.json...
      with each corpus's anchor fields, DIR/a-CORPUS.json from anchors.py
      build (session 59): the "S59" variants add them to the file ranking;
      misses shows the right file's rank by the anchor BM25 and the
      question's terms its anchor field holds.

The signals: file BM25 (a file's chunks as one text: occurrences in its
chunks, heading 3, summary 2; length its chunk bytes; idf over files or, as
docpipe-query does, over chunks), heading terms, coverage of the question's
idf mass, the sum of a file's top chunk scores, file BM25 with the terms of
highest PMI over the chunks added (a corpus vocabulary), LSA (a truncated
SVD of the tf-idf chunk-term matrix, files as sums of their chunks), each
fused with the hybrid ranking's files by reciprocal rank fusion or standard
scores.  The variant docpipe-query's file ranking (--file-weight) follows:
"hybrid + file, rrf k10 w1, margin 3".
"""
import json
import math
import os
import subprocess
import sys
from collections import defaultdict

import eval as ev

POOL = 50
# The pools saved: docpipe-query's options by name.  hybrid-f0: hybrid
# without the file ranking (--file-weight 0, the default before session
# 54): the file-level variants re-rank it, as the C does.
MODES = {"hybrid": ["--mode", "hybrid"], "text": ["--mode", "text"], "vector": ["--mode", "vector"],
         "hybrid-f0": ["--mode", "hybrid", "--file-weight", "0"]}


def psql(sql):
    out = subprocess.run(["psql", "-X", "-At", "-F", "\t", "-d", os.environ["DATABASE_URL"], "-c", sql],
                         capture_output=True, text=True, check=True)
    return [l.split("\t") for l in out.stdout.splitlines()]


def lexemes(text):
    """The question's lexemes, as the english configuration makes them."""
    out = subprocess.run(["psql", "-X", "-At", "-d", os.environ["DATABASE_URL"], "-v", "q=" + text],
                         input="SELECT u.lexeme FROM unnest(to_tsvector('english', :'q')) u\n",
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def dump(out, corpus, qfiles):
    rows = []
    for qf in qfiles:
        qset = os.path.basename(qf)[len("questions-"):-len(".jsonl")]
        for q in (json.loads(l) for l in open(qf)):
            if q["corpus"] != corpus:
                continue
            row = {"set": qset, "question": q["question"], "expect": q["expect"],
                   "terms": lexemes(q["question"])}
            for m, opts in MODES.items():
                row[m] = [[h["path"], h["seq"], h["score"]]
                          for h in ev.query(q["question"], opts, POOL)]
            rows.append(row)
    chunks = {}
    for path, seq, heading, length, lex, w in psql(
            "SELECT d.path, c.seq, coalesce(array_to_string(c.heading, ' / '), ''),"
            " octet_length(c.content), u.lexeme, array_to_string(u.weights, '')"
            " FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id,"
            " unnest(c.tsv) u"):
        c = chunks.setdefault(path + "\0" + seq, {"path": path, "seq": int(seq), "heading": heading,
                                                 "len": int(length), "tf": {}})
        # occurrences by weight: A heading path, B summary, D text
        c["tf"][lex] = [w.count("A"), w.count("B"), w.count("D")]
    json.dump({"corpus": corpus, "rows": rows, "chunks": list(chunks.values())}, open(out, "w"))


class Index:
    """BM25 over chunks and over files (a file: all its chunks' terms)."""

    def __init__(self, chunks, wa=3.0, wb=2.0, anchors=None):
        self.chunks = chunks
        # a file's anchor fields (anchors.py build): "anchors", the
        # lexemes of the links other files point at it with, and
        # "context", of the sentences around those links; their
        # occurrences
        self.fields = {name: (anchors or {}).get(name, {}) for name in ("anchors", "context")}
        self.anchors = self.fields["anchors"]
        self.tables = {}
        self.files = defaultdict(lambda: defaultdict(float))
        self.flen = defaultdict(int)
        self.heads = defaultdict(lambda: defaultdict(float))  # a file's heading terms
        self.cdf = defaultdict(int)
        for c in chunks:
            self.flen[c["path"]] += c["len"]
            for lex, (a, b, d) in c["tf"].items():
                self.files[c["path"]][lex] += wa * a + wb * b + d
                self.cdf[lex] += 1
                if a:
                    self.heads[c["path"]][lex] += a
        self.nchunks = len(chunks)
        self.chunk_terms = [set(c["tf"]) for c in chunks]
        self.chunk_path = [c["path"] for c in chunks]
        self.fdf = defaultdict(int)
        for f, tf in self.files.items():
            for lex in tf:
                self.fdf[lex] += 1
        self.hdf = defaultdict(int)
        for f, tf in self.heads.items():
            for lex in tf:
                self.hdf[lex] += 1
        self.avgflen = sum(self.flen.values()) / max(1, len(self.flen))

    def idf(self, df, n):
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def table(self, wa=3.0, wb=2.0, headmax=False):
        """A file's occurrences of each term with heading weight wa and
        summary (B: in the first chunk, the document's description and
        path words) weight wb; headmax: a heading term counted once a file
        (its most in one chunk), not once a chunk (every chunk of a page
        repeats its title)."""
        key = (wa, wb, headmax)
        if key == (3.0, 2.0, False):
            return self.files
        if key not in self.tables:
            files = defaultdict(lambda: defaultdict(float))
            heads = defaultdict(lambda: defaultdict(int))
            for c in self.chunks:
                for lex, (a, b, d) in c["tf"].items():
                    files[c["path"]][lex] += wb * b + d + (0 if headmax else wa * a)
                    if headmax:
                        heads[c["path"]][lex] = max(heads[c["path"]][lex], a)
            for f, h in heads.items():
                for lex, a in h.items():
                    files[f][lex] += wa * a
            self.tables[key] = files
        return self.tables[key]

    def file_bm25(self, terms, k1=1.2, b=0.75, idf_from="file", extra=(), we=0.0, wa=3.0, wb=2.0,
                  headmax=False, wanc=0.0, wctx=0.0):
        """wanc, wctx: the anchor and the context field's weights, more
        fields of the file (their occurrences added as the description's
        are; the file's length unchanged)."""
        n = len(self.files)
        s = {}
        weighted = [(t, 1.0) for t in terms] + [(t, we) for t in extra]
        for f, tf in self.table(wa, wb, headmax).items():
            k = k1 * (1 - b + b * self.flen[f] / self.avgflen)
            anc = self.anchors.get(f, {}) if wanc else {}
            ctx = self.fields["context"].get(f, {}) if wctx else {}
            v = 0.0
            for t, wt in weighted:
                x = tf.get(t, 0) + wanc * anc.get(t, 0) + wctx * ctx.get(t, 0)
                if x:
                    idf = self.idf(self.fdf[t], n) if idf_from == "file" else \
                        self.idf(self.cdf[t], self.nchunks)
                    v += wt * idf * x * (k1 + 1) / (x + k)
            if v > 0:
                s[f] = v
        return s

    def anchor_bm25(self, terms, field="anchors", k1=1.2, b=0.75):
        """BM25 over one anchor field alone (a file with none scores
        nothing), idf and mean length over the files that have one."""
        docs = self.fields[field]
        n = len(docs)
        alen = {f: sum(a.values()) for f, a in docs.items()}
        avg = sum(alen.values()) / max(1, n)
        df = defaultdict(int)
        for a in docs.values():
            for lex in a:
                df[lex] += 1
        s = {}
        for f, a in docs.items():
            k = k1 * (1 - b + b * alen[f] / avg)
            v = sum(self.idf(df[t], n) * a[t] * (k1 + 1) / (a[t] + k) for t in terms if t in a)
            if v > 0:
                s[f] = v
        return s

    def expand(self, terms, per_term=3, min_co=3):
        """Corpus vocabulary: each question term's per_term terms of highest
        PMI over the chunks (co-occurring in at least min_co chunks), the
        question's own terms left out."""
        if not hasattr(self, "post"):
            self.post = defaultdict(set)
            for i, c in enumerate(self.chunk_terms):
                for lex in c:
                    self.post[lex].add(i)
        n = self.nchunks
        out = {}
        for t in set(terms):
            pt = self.post.get(t)
            if not pt or len(pt) > n / 10:
                continue
            co = defaultdict(int)
            for i in pt:
                for u in self.chunk_terms[i]:
                    co[u] += 1
            cands = [(math.log(c * n / (len(pt) * len(self.post[u]))), u) for u, c in co.items()
                     if c >= min_co and u not in terms]
            for pmi, u in sorted(cands, reverse=True)[:per_term]:
                out[u] = max(out.get(u, 0), pmi)
        return list(out)

    def lsa(self, dim=100):
        import numpy as np
        if getattr(self, "lsa_dim", None) == dim:
            return
        self.lsa_dim = dim
        vocab = {t: i for i, t in enumerate(sorted(self.cdf))}
        m = np.zeros((self.nchunks, len(vocab)), dtype=np.float32)
        for i, c in enumerate(self.chunk_terms):
            for t in c:
                m[i, vocab[t]] = math.log(1 + self.nchunks / self.cdf[t])
        u, sv, vt = np.linalg.svd(m, full_matrices=False)
        self.np, self.vocab, self.lsa_terms = np, vocab, (vt[:dim].T * sv[:dim])
        files = sorted(self.files)
        fi = {f: i for i, f in enumerate(files)}
        fv = np.zeros((len(files), dim), dtype=np.float32)
        for i, c in enumerate(self.chunk_terms):
            fv[fi[self.chunk_path[i]]] += u[i, :dim] * sv[:dim]
        fv /= np.maximum(np.linalg.norm(fv, axis=1, keepdims=True), 1e-9)
        self.lsa_files, self.lsa_fnames = fv, files

    def lsa_score(self, terms):
        np = self.np
        q = np.zeros(self.lsa_terms.shape[1], dtype=np.float32)
        for t in set(terms):
            if t in self.vocab:
                q += self.lsa_terms[self.vocab[t]] * math.log(1 + self.nchunks / self.cdf[t])
        nq = np.linalg.norm(q)
        if nq == 0:
            return {}
        sc = self.lsa_files @ (q / nq)
        return {f: float(x) for f, x in zip(self.lsa_fnames, sc)}

    def head_score(self, terms):
        """BM25-like over the file's heading terms (no length norm)."""
        n = len(self.heads)
        s = {}
        for f, tf in self.heads.items():
            v = sum(self.idf(self.hdf[t], n) * min(1.0, tf[t]) for t in terms if t in tf)
            if v > 0:
                s[f] = v
        return s

    def coverage(self, terms):
        """Fraction of the question's idf mass (chunk idf) the file holds."""
        tot = sum(self.idf(self.cdf.get(t, 0), self.nchunks) for t in set(terms)) or 1.0
        s = {}
        for f, tf in self.files.items():
            s[f] = sum(self.idf(self.cdf.get(t, 0), self.nchunks) for t in set(terms) if t in tf) / tot
        return s


def file_order(hits):
    """Files in the order of their best chunk, with that chunk's rank and score."""
    seen = {}
    for i, (p, seq, sc) in enumerate(hits):
        if p not in seen:
            seen[p] = (i, sc)
    return seen


def zs(d):
    if not d:
        return {}
    vals = list(d.values())
    m = sum(vals) / len(vals)
    sd = (sum((v - m) ** 2 for v in vals) / len(vals)) ** 0.5
    return {k: ((v - m) / sd if sd > 0 else 0.0) for k, v in d.items()}


def rank_files(row, idx, v):
    """The files of a variant, best first (v: dict of the variant's knobs)."""
    # The file-level variants re-rank hybrid without the file ranking
    # (hybrid-f0) where the dump has it (since session 55; before, the
    # hybrid pool was that).
    mode = v.get("mode", "hybrid" if v.get("kind", "base") == "base" or "hybrid-f0" not in row
                  else "hybrid-f0")
    hits = row[mode]
    base = file_order(hits)
    kind = v.get("kind", "base")
    if kind == "base":
        # docpipe-query's own top 5 chunks: duplicates of a file count once
        return [h[0] for h in hits[:5]]
    if kind == "doc1":
        return sorted(base, key=lambda p: base[p][0])
    terms = row["terms"]
    if kind in ("rrf", "z"):
        sig = v["sig"]
        if sig == "file":
            extra = idx.expand(terms, v["pmi"]) if v.get("pmi") else ()
            fs = idx.file_bm25(terms, k1=v.get("k1", 1.2), b=v.get("b", 0.75), idf_from=v.get("idf", "file"),
                               extra=extra, we=v.get("we", 0.0), wa=v.get("wa", 3.0), wb=v.get("wb", 2.0),
                               headmax=v.get("headmax", False), wanc=v.get("wanc", 0.0),
                               wctx=v.get("wctx", 0.0))
        elif sig == "lsa":
            idx.lsa(v.get("dim", 100))
            fs = idx.lsa_score(terms)
        elif sig == "head":
            fs = idx.head_score(terms)
        elif sig == "cov":
            fs = idx.coverage(terms)
        elif sig == "sumk":
            fs = defaultdict(float)
            cnt = defaultdict(int)
            for p, seq, sc in hits:
                if cnt[p] < v.get("topk", 3):
                    fs[p] += sc
                    cnt[p] += 1
        # ancw: the anchor BM25's own file order as one more RRF term
        # (session 59); pool "anchors": the files it ranks join the
        # candidates (its top 50 files, as a search of its own would give)
        anc = idx.anchor_bm25(terms, v.get("ancfield", "anchors")) if v.get("ancw") else {}
        ar = {p: i for i, p in enumerate(sorted(anc, key=lambda p: -anc[p])[:POOL])}
        pool = set(base) if v.get("pool", "cand") == "cand" else \
            set(base) | set(ar) if v["pool"] == "anchors" else set(base) | set(fs)
        w = v.get("w", 1.0)
        if kind == "rrf":
            k = v.get("k", 10)
            fr = {p: i for i, p in enumerate(sorted(fs, key=lambda p: -fs[p]))}
            score = {}
            # wv, wt: the vector and the text side's own file orders as
            # further terms (session 55)
            sides = [({q: i for i, q in enumerate(file_order(row[m]))}, v[kw])
                     for m, kw in (("vector", "wv"), ("text", "wt")) if v.get(kw)]
            if ar:
                sides.append((ar, v["ancw"]))
            for p in pool:
                s = 1.0 / (k + base[p][0] + 1) if p in base else 0.0
                if p in fr:
                    s += w / (k + fr[p] + 1)
                for ranks, ws in sides:
                    if p in ranks:
                        s += ws / (k + ranks[p] + 1)
                score[p] = s
        else:
            bz = zs({p: base[p][1] for p in base})
            fz = zs({p: fs.get(p, 0.0) for p in pool})
            lo = min(bz.values()) if bz else 0.0
            score = {p: bz.get(p, lo) + w * fz.get(p, 0.0) for p in pool}
        return sorted(pool, key=lambda p: (-score[p], base.get(p, (999,))[0]))
    if kind == "rrf3":
        # hybrid's files, file BM25 and LSA's file similarity, by RRF
        fs = idx.file_bm25(terms)
        idx.lsa(v.get("dim", 100))
        ls = idx.lsa_score(terms)
        k = v.get("k", 10)
        score = defaultdict(float)
        for p in base:
            score[p] += 1.0 / (k + base[p][0] + 1)
        if v.get("nofile"):
            fs = {}
        for sig, w in ((fs, v.get("w", 1.0)), (ls, v.get("wl", 0.5))):
            for i, p in enumerate(sorted(sig, key=lambda p: -sig[p])[:50]):
                score[p] += w / (k + i + 1)
        return sorted(score, key=lambda p: -score[p])
    if kind == "margin":
        # the file ranking's chunk list as docpipe-query gives it: each
        # file's best chunk in file order; a file's other chunk ahead of
        # the best chunks scoring more than the margin below it, once its
        # own file's is out (QUERY_FILE_MARGIN in src/query/fuse.h)
        files = rank_files(row, idx, dict(v, kind="rrf", sig="file"))
        # a file the anchors brought (no chunk in the pool): its place is
        # kept, no other chunk passes it
        best = [hits[base[p][0]] if p in base else [p, 0, math.inf] for p in files]
        rest = [h for i, h in enumerate(hits) if base[h[0]][0] != i]
        out, j, done = [], 0, set()
        for b in best:
            while j < len(rest) and rest[j][2] - v["margin"] > b[2] and rest[j][0] in done:
                out.append(rest[j])
                j += 1
            out.append(b)
            done.add(b[0])
        return [h[0] for h in out + rest[j:]]
    if kind == "sides":
        # the vector side's files, the text side's files and the file
        # BM25, each by RRF (no fused chunk list)
        fs = idx.file_bm25(terms, idf_from=v.get("idf", "chunk"))
        k = v.get("k", 10)
        score = defaultdict(float)
        for sig, w in ((list(file_order(row["vector"])), v.get("wv", 1.0)),
                       (list(file_order(row["text"])), v.get("wt", 1.0)),
                       (sorted(fs, key=lambda p: -fs[p])[:50], v.get("w", 1.0))):
            for i, p in enumerate(sig):
                score[p] += w / (k + i + 1)
        return sorted(score, key=lambda p: -score[p])
    if kind == "fileonly":
        fs = idx.file_bm25(terms)
        return sorted(fs, key=lambda p: -fs[p])
    if kind == "lsaonly":
        idx.lsa(v.get("dim", 100))
        fs = idx.lsa_score(terms)
        return sorted(fs, key=lambda p: -fs[p])
    if kind == "boost":
        # every chunk keeps its place in the list, its score raised by its
        # file's: no limit of chunks per file
        fs = idx.file_bm25(terms)
        fz = zs({p: fs.get(p, 0.0) for p in base})
        cz = zs({i: h[2] for i, h in enumerate(hits)})
        w = v.get("w", 1.0)
        order = sorted(range(len(hits)), key=lambda i: (-(cz[i] + w * fz[hits[i][0]]), i))
        return [hits[i][0] for i in order[:5]]
    raise SystemExit("unknown kind " + kind)


VARIANTS = [("hybrid (docpipe-query)", {"kind": "base"}),
            ("hybrid --file-weight 0 (docpipe-query)", {"kind": "base", "mode": "hybrid-f0"}),
            ("text (docpipe-query)", {"kind": "base", "mode": "text"}),
            ("vector (docpipe-query)", {"kind": "base", "mode": "vector"}),
            ("hybrid, one chunk a file", {"kind": "doc1"})]
for _sig in ("file", "head", "cov", "sumk"):
    for _w in (0.25, 0.5, 1.0):
        VARIANTS.append(("hybrid + %s, rrf k10 w%g" % (_sig, _w), {"kind": "rrf", "sig": _sig, "w": _w}))
        VARIANTS.append(("hybrid + %s, zscore w%g" % (_sig, _w), {"kind": "z", "sig": _sig, "w": _w}))
VARIANTS.append(("file BM25 alone", {"kind": "fileonly"}))
for _m in (0, 1, 2, 3, 6):
    VARIANTS.append(("hybrid + file, rrf k10 w1, margin %g" % _m, {"kind": "margin", "w": 1.0, "margin": _m}))
for _k in (5, 20, 60):
    for _w in (0.5, 1.0, 1.5):
        VARIANTS.append(("hybrid + file, rrf k%d w%g" % (_k, _w), {"kind": "rrf", "sig": "file", "w": _w, "k": _k}))
        VARIANTS.append(("hybrid + file (all files), rrf k%d w%g" % (_k, _w),
                         {"kind": "rrf", "sig": "file", "w": _w, "k": _k, "pool": "all"}))
for _pm, _we in ((2, 0.25), (3, 0.25), (3, 0.5), (5, 0.25), (5, 0.5)):
    VARIANTS.append(("hybrid + file with PMI expansion %d a term weight %g, rrf k10 w1" % (_pm, _we),
                     {"kind": "rrf", "sig": "file", "w": 1.0, "pmi": _pm, "we": _we}))
for _dim in (50, 100, 200):
    for _w in (0.25, 0.5, 1.0):
        VARIANTS.append(("hybrid + LSA %d, rrf k10 w%g" % (_dim, _w), {"kind": "rrf", "sig": "lsa", "w": _w, "dim": _dim}))
for _wl in (0.5, 1.0):
    VARIANTS.append(("text files + LSA 200 w%g, rrf k10 (no embedder)" % _wl,
                     {"kind": "rrf3", "mode": "text", "wl": _wl, "dim": 200, "nofile": True}))
    VARIANTS.append(("text files + file + LSA 200 w%g, rrf k10 (no embedder)" % _wl,
                     {"kind": "rrf3", "mode": "text", "wl": _wl, "dim": 200}))
VARIANTS.append(("hybrid + file chunk-idf, rrf k10 w1", {"kind": "rrf", "sig": "file", "w": 1.0, "idf": "chunk"}))
VARIANTS.append(("hybrid + file chunk-idf, rrf k10 w0.5", {"kind": "rrf", "sig": "file", "w": 0.5, "idf": "chunk"}))
VARIANTS.append(("text + file, rrf k10 w1", {"kind": "rrf", "sig": "file", "w": 1.0, "mode": "text"}))
VARIANTS.append(("vector + file, rrf k10 w1", {"kind": "rrf", "sig": "file", "w": 1.0, "mode": "vector"}))
VARIANTS.append(("text, one chunk a file", {"kind": "doc1", "mode": "text"}))
for _dim in (50, 100, 200):
    VARIANTS.append(("LSA %d alone" % _dim, {"kind": "lsaonly", "dim": _dim}))
    for _wl in (0.25, 0.5):
        VARIANTS.append(("hybrid + file + LSA %d w%g, rrf k10" % (_dim, _wl), {"kind": "rrf3", "wl": _wl, "dim": _dim}))
for _w in (0.1, 0.25, 0.5, 1.0):
    VARIANTS.append(("hybrid chunks + file boost w%g" % _w, {"kind": "boost", "w": _w}))
for _w in (0.25, 0.5):
    VARIANTS.append(("hybrid + file (all files), zscore w%g" % _w,
                     {"kind": "z", "sig": "file", "w": _w, "pool": "all"}))
    VARIANTS.append(("hybrid + file b0.3, zscore w%g" % _w, {"kind": "z", "sig": "file", "w": _w, "b": 0.3}))
    VARIANTS.append(("hybrid + file chunk-idf, zscore w%g" % _w,
                     {"kind": "z", "sig": "file", "w": _w, "idf": "chunk"}))
    VARIANTS.append(("text + file, zscore w%g" % _w, {"kind": "z", "sig": "file", "w": _w, "mode": "text"}))

# Session 55 (helper h55b): the C's file ranking (chunk idf, margin 3) and
# its document-level fields: the first chunk's weight B (the description
# and the path's words, no summaries in the benchmark) weighted 1-6, a
# heading term counted once a file, BM25's k1 and b; the sides' files
# fused with the file BM25 directly.
_C = {"kind": "margin", "w": 1.0, "margin": 3, "idf": "chunk"}
VARIANTS.append(("S55 C: hybrid + file chunk-idf, rrf k10 w1, margin 3", _C))
for _wb in (1.0, 3.0, 4.0, 6.0):
    VARIANTS.append(("S55 C, description and path (B) weight %g" % _wb, dict(_C, wb=_wb)))
for _wa in (1.0, 3.0, 6.0):
    VARIANTS.append(("S55 C, heading once a file, weight %g" % _wa, dict(_C, wa=_wa, headmax=True)))
VARIANTS.append(("S55 C, heading weight 1", dict(_C, wa=1.0)))
for _k1 in (0.8, 2.0):
    VARIANTS.append(("S55 C, k1 %g" % _k1, dict(_C, k1=_k1)))
for _b in (0.3, 0.5, 0.9):
    VARIANTS.append(("S55 C, b %g" % _b, dict(_C, b=_b)))
for _w in (1.5, 2.0):
    VARIANTS.append(("S55 C, file weight %g" % _w, dict(_C, w=_w)))
for _ws in (0.25, 0.5, 1.0):
    VARIANTS.append(("S55 C + the vector side's files w%g" % _ws, dict(_C, wv=_ws)))
    VARIANTS.append(("S55 C + the text side's files w%g" % _ws, dict(_C, wt=_ws)))
for _wv, _wt, _w in ((1, 1, 1), (1, 1, 2), (0.5, 1, 1), (1, 0.5, 1), (1, 1, 0.5)):
    VARIANTS.append(("S55 sides: vector w%g + text w%g + file w%g, rrf k10" % (_wv, _wt, _w),
                     {"kind": "sides", "wv": _wv, "wt": _wt, "w": _w}))

# Session 59 (helper h59a): anchor text (ANCHORS=DIR), on the C's file
# ranking.  Fixed before any run: (a) the anchor field in the file BM25 at
# the description's weight, 2; (b) the anchor BM25's own file order by RRF
# at half the file BM25's weight, 0.5, the candidates only.  The others are
# reported, not chosen.
VARIANTS.append(("S59 (a) C + anchor field weight 2 (fixed)", dict(_C, wanc=2.0)))
VARIANTS.append(("S59 (b) C + anchor BM25 rrf w0.5 (fixed)", dict(_C, ancw=0.5)))
for _wa in (1.0, 3.0, 6.0):
    VARIANTS.append(("S59 (a) C + anchor field weight %g" % _wa, dict(_C, wanc=_wa)))
for _w in (0.25, 1.0):
    VARIANTS.append(("S59 (b) C + anchor BM25 rrf w%g" % _w, dict(_C, ancw=_w)))
for _w in (0.25, 0.5, 1.0):
    VARIANTS.append(("S59 (b) C + anchor BM25 rrf w%g, its files join the candidates" % _w,
                     dict(_C, ancw=_w, pool="anchors")))
VARIANTS.append(("S59 (a)+(b) C + anchor field weight 2 + anchor BM25 rrf w0.5", dict(_C, wanc=2.0, ancw=0.5)))
# Fixed before its run: (c) the sentences around the links as one more
# field at the body text's weight, 1, beside (a).
VARIANTS.append(("S59 (c) C + anchor field weight 2 + context field weight 1 (fixed)", dict(_C, wanc=2.0, wctx=1.0)))
for _wc in (0.5, 2.0):
    VARIANTS.append(("S59 (c) C + anchor field weight 2 + context field weight %g" % _wc, dict(_C, wanc=2.0, wctx=_wc)))
VARIANTS.append(("S59 (c) C + context field weight 1, no anchor field", dict(_C, wctx=1.0)))
for _w in (0.25, 0.5):
    VARIANTS.append(("S59 (c) C + context BM25 rrf w%g" % _w, dict(_C, ancw=_w, ancfield="context")))


def load_anchors(corpus):
    """ANCHORS=DIR: DIR/a-CORPUS.json from anchors.py build, or none."""
    d = os.environ.get("ANCHORS")
    return json.load(open(os.path.join(d, "a-%s.json" % corpus))) if d else None


def evaluate(dumps, only=None, misses=False):
    data = [json.load(open(d)) for d in dumps]
    idxs = [Index(d["chunks"], anchors=load_anchors(d["corpus"])) for d in data]
    sets = sorted({r["set"] for d in data for r in d["rows"]})
    held = [s for s in sets if s.startswith("heldout")]
    print("| variant | held-out 1-9 | rust-book / hugo-docs | first | by set (%s) | corpora |" % " ".join(held))
    print("|---|---|---|---|---|---|")
    for label, v in VARIANTS:
        if only and not any(o in label for o in only):
            continue
        per_set = defaultdict(int)
        per_corpus = defaultdict(int)
        first = 0
        missed = []
        for d, idx in zip(data, idxs):
            for r in d["rows"]:
                files = rank_files(r, idx, v)[:5]
                ok = [any(e in p for e in r["expect"]) for p in files]
                if any(ok):
                    per_set[r["set"]] += 1
                    if r["set"] in held:
                        per_corpus[d["corpus"]] += 1
                        first += ok[0]
                elif r["set"] in held:
                    missed.append(r["question"])
        print("| %s | %d | %s | %d | %s | %d |" % (
            label, sum(per_set[s] for s in held), " / ".join(str(per_corpus[d["corpus"]]) for d in data),
            first, " ".join(str(per_set[s]) for s in held), per_set.get("corpora", 0)))
        if misses and missed:
            print("\n".join("|  | missed: %s |" % m for m in missed))
        sys.stdout.flush()


def misses(dumps):
    """Every held-out question docpipe-query's hybrid misses: the right
    file's rank (1-based; - when not in the pool of 50 chunks) in each
    saved pool's files and by the file BM25 (chunk idf), and the
    question's terms the right file lacks (of how many); with ANCHORS=DIR
    also, for the anchor and the context field, the right file's rank by
    that field's BM25 and the question's terms the field holds (those its
    text lacks marked +)."""
    fields = ("anchors", "context") if os.environ.get("ANCHORS") else ()
    print("| corpus | question | hybrid | --file-weight 0 | text | vector | file BM25 | terms lacking |%s"
          % "".join(" %s BM25 | %s terms |" % (f, f) for f in fields))
    print("|---|---|---|---|---|---|---|---|%s" % ("---|---|" * len(fields)))
    for d in dumps:
        data = json.load(open(d))
        idx = Index(data["chunks"], anchors=load_anchors(data["corpus"]))
        for r in data["rows"]:
            if not r["set"].startswith("heldout"):
                continue

            def rank(files):
                return next((str(i + 1) for i, p in enumerate(files) if any(e in p for e in r["expect"])), "-")
            if rank(rank_files(r, idx, {"kind": "base"})[:5]) != "-":
                continue
            fs = idx.file_bm25(r["terms"], idf_from="chunk")
            right = [p for p in idx.files if any(e in p for e in r["expect"])]
            has = set().union(*(set(idx.files[p]) for p in right)) if right else set()
            lack = sorted(set(t for t in r["terms"] if t not in has))
            cols = ""
            for field in fields:
                ab = idx.anchor_bm25(r["terms"], field)
                anc = set().union(*(set(idx.fields[field].get(p, ())) for p in right)) if right else set()
                held = sorted(set(t for t in r["terms"] if t in anc))
                cols += " %s | %s |" % (rank(sorted(ab, key=lambda p: -ab[p])),
                                        " ".join(t + "+" * (t in lack) for t in held)
                                        or ("none" if anc else "no field"))
            print("| %s | %s | %s | %s | %s | %s | %s | %s of %d |%s" % (
                data["corpus"], r["question"], rank(list(file_order(r["hybrid"]))),
                rank(list(file_order(r.get("hybrid-f0", r["hybrid"])))), rank(list(file_order(r["text"]))),
                rank(list(file_order(r["vector"]))), rank(sorted(fs, key=lambda p: -fs[p])),
                " ".join(lack) or "none", len(set(r["terms"])), cols))


if __name__ == "__main__":
    only = os.environ.get("ONLY")
    if sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1] == "misses":
        misses(sys.argv[2:])
    else:
        evaluate(sys.argv[2:], only.split("|") if only else None, bool(os.environ.get("MISSES")))
