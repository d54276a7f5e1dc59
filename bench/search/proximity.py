#!/usr/bin/python3
"""Term proximity in the text side's ranking (issue 11), measured offline
before any C (session 59, helper h59b: docs/PERFORMANCE.md, "Issue 11: term
proximity").  Needs numpy (Debian's python3-numpy: /usr/bin/python3).

  proximity.py dump OUT CORPUS QUESTIONS.jsonl...
      (DATABASE_URL, DOCPIPE_BIN) saves OUT.json and OUT.npy: every chunk's
      question-term positions (by weight class), lexemes counts as
      docrank.py's dump (for its file ranking), length and vector; every
      question's vector (docpipe-embed, as docpipe-query embeds it), its
      lexemes (docpipe's lexer, as docpipe-query's), docpipe-query's text
      ranking's first TEXT_POOL chunks with their scores, and its hybrid,
      hybrid --file-weight 0 and vector top 50 (to check the emulation
      against); the count of stored documents.
  proximity.py dump-chunking OUT CHUNKS.ndjson QUESTIONS.jsonl
      the same for the chunking eval (each question within its document,
      --path as eval.py), with each chunk's byte range.
  proximity.py eval OUT...  /  proximity.py chunking OUT
      files in the top 5 (by set, first place, tuning questions) / the
      chunking eval's recall@5, per variant (VARIANTS; ONLY='A|B' only the
      variants whose label holds A or B): the text side's pool re-scored with a
      proximity term, then docpipe-query's hybrid emulated on it: Rocchio
      feedback from the text side's first chunk when it leads by 1.25, the
      vector side's exact cosine top 50, standard-score fusion (text weight
      2), the file ranking (fuse.c's query_fuse_files, docrank.py's
      document BM25).  The rows without a proximity term check the
      emulation against docpipe-query's own (the same top 5 for every
      question of session 59's run).
  proximity.py misses OUT...
      the held-out questions docpipe-query's hybrid misses, and those a
      variant loses (FORM, WEIGHT: default tp 1): the right file's rank
      with and without the proximity term.

Proximity forms at their papers' settings (tp and span fixed before the
first run, rs added after it); a term's idf is the chunk-level BM25 idf
from exact chunk counts:
  tp   BM25TP (Buettcher, Clarke & Lushman, SIGIR 2006): the question's
       term occurrences in position order; each adjacent pair of different
       terms t, u at distance d adds idf(u)/d^2 to acc(t) and idf(t)/d^2
       to acc(u); the score gains sum_t min(1, idf(t)) acc(t) (k1 + 1) /
       (acc(t) + K), K the chunk's BM25 length normaliser (k1 1.2, b
       0.75), times the weight (the paper's: 1).  Pairs within one field
       only (heading path A, summary B, text D: the positions run on from
       one field to the next).
  rs   Rasolofo & Savoy (ECIR 2003): every pair of occurrences of two
       different terms t, u at distance d <= 5 in one field adds 1/d^2 to
       acc(t, u); the score gains sum over pairs min(idf(t), idf(u))
       acc (k1 + 1) / (acc + K), times the weight (the paper's: 1).
  span MinDist (Tao & Zhai, SIGIR 2007): log(alpha + exp(-delta)), delta
       the smallest distance between occurrences of two different question
       terms in one field (the chunk's last position when fewer than two
       terms occur), alpha 0.3, times the weight (the paper's: 1).
"""
import base64
import json
import math
import os
import subprocess
import sys
from collections import defaultdict

import numpy as np

import docrank as dr
import eval as ev

TEXT_POOL = 200   # the text ranking's chunks saved: a proximity bonus re-ranks them, 50 are kept
POOL = 50         # docpipe-query's pool (QUERY_POOL_MIN)
TEXT_WEIGHT = 2.0
PRF_LEAD = 1.25
FILE_RRF_K, FILE_WEIGHT, FILE_MARGIN = 10, 1.0, 3.0  # fuse.h
K1, B = 1.2, 0.75
RS_WINDOW = 5     # Rasolofo & Savoy's largest distance of a pair
WEIGHT_CLASS = {"A": 0, "B": 1, "C": 2, "D": 3}


def embed(texts):
    """Each text's vector, as docpipe-query embeds a question (local embedder)."""
    rec = {"v": 1, "kind": "document", "path": "/questions",
           "chunks": [{"seq": i, "text": t, "heading": []} for i, t in enumerate(texts)]}
    opts = os.environ.get("EMBED_OPTS", "").split()
    out = subprocess.run([os.path.join(ev.BIN, "docpipe-embed"), *opts], input=json.dumps(rec) + "\n",
                         capture_output=True, text=True, check=True)
    d = json.loads(out.stdout.splitlines()[0])
    return [np.frombuffer(base64.b64decode(c["vec"]), dtype="<f4").astype(np.float64) for c in d["chunks"]]


def corpus_chunks(terms, path_like=None):
    """Every chunk (docrank's fields, plus doc id and question-term
    positions) and the matrix of their vectors."""
    chunks = {}
    for doc, path, seq, length, vec in dr.psql(
            "SELECT c.document_id, d.path, c.seq, octet_length(c.content), c.embedding::real[]::text"
            " FROM docpipe.chunks c JOIN docpipe.documents d ON d.id = c.document_id"
            " ORDER BY c.document_id, c.seq"):
        chunks[(path, int(seq))] = {"path": path, "seq": int(seq), "doc": int(doc), "len": int(length),
                                    "heading": "", "tf": {}, "pos": {},
                                    "vec": [float(x) for x in vec.strip("{}").split(",")] if vec else None}
    lex = "{" + ",".join('"%s"' % t for t in sorted(terms)) + "}"
    for path, seq, lexeme, pos, w in dr.psql(
            "SELECT d.path, c.seq, u.lexeme, array_to_string(u.positions, ','),"
            " array_to_string(u.weights, '') FROM docpipe.chunks c"
            " JOIN docpipe.documents d ON d.id = c.document_id, unnest(c.tsv) u"
            " WHERE u.lexeme = ANY('%s'::text[])" % lex):
        c = chunks[(path, int(seq))]
        c["tf"][lexeme] = [w.count("A"), w.count("B"), w.count("D")]
        c["pos"][lexeme] = [[int(p), WEIGHT_CLASS[x]] for p, x in zip(pos.split(","), w)]
    for path, seq, last in dr.psql("SELECT d.path, c.seq, (SELECT max(p) FROM unnest(c.tsv) u,"
                                     " unnest(u.positions) p) FROM docpipe.chunks c"
                                     " JOIN docpipe.documents d ON d.id = c.document_id"):
        chunks[(path, int(seq))]["last"] = int(last) if last else 1
    out = list(chunks.values())
    dim = next(len(c["vec"]) for c in out if c["vec"])
    mat = np.array([c["vec"] if c["vec"] else [0.0] * dim for c in out])
    for c in out:
        c["has_vec"] = c.pop("vec") is not None
    return out, mat


def client_lexemes(texts):
    """Each text's lexemes as docpipe-query makes a question's (docpipe's
    lexer, not the server's to_tsvector: "templates.Defer" is templat and
    defer, not templates.defer): the texts stored as one-chunk documents
    in a scratch database of the server (PGHOST, PGPORT, PGUSER), their
    text's lexemes (weight D) read back."""
    db = "docpipe_lexemes_%d" % os.getpid()
    subprocess.run(["createdb", db], check=True)
    try:
        url = "postgresql:///%s?host=%s&port=%s&user=%s" % (db, os.environ["PGHOST"], os.environ["PGPORT"],
                                                           os.environ["PGUSER"])
        recs = "".join(json.dumps({"v": 1, "kind": "document", "path": "/q/%d" % i, "root": "/q",
                                   "chunks": [{"seq": 0, "text": t, "heading": []}]}) + "\n"
                       for i, t in enumerate(texts))
        env = dict(os.environ, DATABASE_URL=url)
        emb = subprocess.run([os.path.join(ev.BIN, "docpipe-embed")], input=recs, capture_output=True,
                             text=True, check=True)
        subprocess.run([os.path.join(ev.BIN, "docpipe-store"), "-q"], input=emb.stdout, env=env,
                       capture_output=True, text=True, check=True)
        out = subprocess.run(["psql", "-X", "-At", "-F", "\t", "-d", url, "-c",
                              "SELECT substr(d.path, 4), u.lexeme FROM docpipe.chunks c"
                              " JOIN docpipe.documents d ON d.id = c.document_id, unnest(c.tsv) u"
                              " WHERE 'D' = ANY(u.weights) ORDER BY 1, 2"],
                             capture_output=True, text=True, check=True)
    finally:
        subprocess.run(["dropdb", db], check=True)
    lex = [[] for _ in texts]
    for line in out.stdout.splitlines():
        i, w = line.split("\t")
        lex[int(i)].append(w)
    return lex


def hits(question, opts, k, extra=()):
    return [[h["path"], h["seq"], h["score"]] for h in ev.query(question, opts, k, extra)]


def dump(out, corpus, qfiles, chunking=None):
    questions = []
    for qf in qfiles:
        qset = os.path.basename(qf)[len("questions-"):-len(".jsonl")] if not chunking else "chunking"
        for q in (json.loads(l) for l in open(qf)):
            if chunking or q["corpus"] == corpus:
                questions.append((qset, q))
    rows = []
    for qset, q in questions:
        extra = ["--path", "*/" + q["corpus"] + ".md"] if chunking else []
        row = {"set": qset, "question": q["question"],
               "text": hits(q["question"], ["--mode", "text"], TEXT_POOL, extra)}
        if chunking:
            row["corpus"] = q["corpus"]
            row["refs"] = [(r["start"], r["end"]) for r in q["references"]]
            row["hybrid"] = hits(q["question"], ["--mode", "hybrid"], 5, extra)
        else:
            row["expect"] = q["expect"]
            for m, opts in dr.MODES.items():
                row[m] = hits(q["question"], opts, POOL)
        rows.append(row)
    vecs = embed([q["question"] for _, q in questions])
    for row, lex in zip(rows, client_lexemes([q["question"] for _, q in questions])):
        row["terms"] = lex
    chunks, mat = corpus_chunks({t for r in rows for t in r["terms"]})
    if chunking:
        ranges = ev.chunk_ranges(chunking)
        for c in chunks:
            c["range"] = ranges[(c["path"], c["seq"])]
    np.save(out + ".npy", mat)
    np.save(out + "-q.npy", np.array(vecs))
    ndocs = int(dr.psql("SELECT count(*) FROM docpipe.documents")[0][0])
    json.dump({"corpus": corpus, "rows": rows, "chunks": chunks, "ndocs": ndocs}, open(out + ".json", "w"))


class Corpus:
    def __init__(self, out):
        d = json.load(open(out + ".json"))
        self.name = d["corpus"]
        self.rows = d["rows"]
        self.chunks = d["chunks"]
        self.index = dr.Index(self.chunks)
        self.at = {(c["path"], c["seq"]): i for i, c in enumerate(self.chunks)}
        m = np.load(out + ".npy")
        norms = np.linalg.norm(m, axis=1)
        norms[norms == 0] = 1
        self.unit = m / norms[:, None]
        self.has_vec = np.array([c["has_vec"] for c in self.chunks])
        self.qvec = np.load(out + "-q.npy")
        self.n = len(self.chunks)
        self.avgdl = sum(c["len"] for c in self.chunks) / self.n
        # The C's mean document length: the mean chunk length times chunks
        # per stored document (documents without chunks count: empty files)
        self.index.avgflen = self.avgdl * max(self.n / d["ndocs"], 1)

    def idf(self, t):
        return self.index.idf(self.index.cdf.get(t, 0), self.n)

    def proximity(self, c, terms, form):
        """The proximity score of chunk c (a dict) for the question's terms."""
        occ = sorted((p, w, t) for t in set(terms) for p, w in c["pos"].get(t, ()))
        if form == "tp":
            acc = defaultdict(float)
            for (p1, w1, t1), (p2, w2, t2) in zip(occ, occ[1:]):
                if t1 != t2 and w1 == w2 and p2 > p1:
                    d = p2 - p1
                    acc[t1] += self.idf(t2) / (d * d)
                    acc[t2] += self.idf(t1) / (d * d)
            k = K1 * ((1 - B) + B * c["len"] / self.avgdl)
            return sum(min(1.0, self.idf(t)) * a * (K1 + 1) / (a + k) for t, a in acc.items())
        if form == "rs":
            pair = defaultdict(float)
            for a, (p1, w1, t1) in enumerate(occ):
                for p2, w2, t2 in occ[a + 1:]:
                    if p2 - p1 > RS_WINDOW:
                        break
                    if t1 != t2 and w1 == w2 and p2 > p1:
                        pair[tuple(sorted((t1, t2)))] += 1.0 / ((p2 - p1) ** 2)
            k = K1 * ((1 - B) + B * c["len"] / self.avgdl)
            return sum(min(self.idf(t), self.idf(u)) * x * (K1 + 1) / (x + k) for (t, u), x in pair.items())
        if form == "span":
            best = None
            last = {}
            for p, w, t in occ:
                for u, (pu, wu) in last.items():
                    if u != t and wu == w:
                        d = p - pu
                        best = d if best is None or d < best else best
                last[t] = (p, w)
            delta = best if best is not None else c.get("last", 1)
            return math.log(0.3 + math.exp(-delta))
        raise SystemExit("unknown form " + form)

    def text_side(self, row, form, weight):
        """The text ranking's first POOL chunks, re-scored: [(chunk index, score)]."""
        out = []
        for path, seq, s in row["text"]:
            i = self.at[(path, seq)]
            if form and weight:
                s += weight * self.proximity(self.chunks[i], row["terms"], form)
            out.append((i, s))
        out.sort(key=lambda x: (-x[1], self.chunks[x[0]]["doc"], self.chunks[x[0]]["seq"]))
        return out[:POOL]

    def vector_side(self, qi, t, restrict=None, prf=True):
        q = self.qvec[qi]
        q = q / (np.linalg.norm(q) or 1)
        if prf and t and (len(t) == 1 or not t[1][1] > 0 or t[0][1] >= PRF_LEAD * t[1][1]):
            q = q + self.unit[t[0][0]]
            q = q / (np.linalg.norm(q) or 1)
        cos = self.unit @ q
        ok = self.has_vec if restrict is None else self.has_vec & restrict
        idx = np.nonzero(ok)[0]
        order = idx[np.lexsort((np.array([self.chunks[i]["seq"] for i in idx]),
                                np.array([self.chunks[i]["doc"] for i in idx]), -cos[idx]))][:POOL]
        return [(int(i), float(cos[i])) for i in order]

    def fuse(self, v, t):
        """fuse.c's standard-score fusion: [(chunk index, fused score)] best first."""
        ent = {}
        for r, (i, s) in enumerate(v):
            ent[i] = {"v": s, "vr": r + 1, "t": None, "tr": 0}
        for r, (i, s) in enumerate(t):
            e = ent.setdefault(i, {"v": None, "vr": 0, "t": None, "tr": 0})
            e["t"], e["tr"] = s, r + 1
        score = {i: 0.0 for i in ent}
        for key, side, w in (("v", v, 1.0), ("t", t, TEXT_WEIGHT)):
            got = [e[key] for e in ent.values() if e[key] is not None]
            missing = min(got) if got and len(side) >= POOL else 0.0
            vals = {i: (e[key] if e[key] is not None else missing) for i, e in ent.items()}
            mean = sum(vals.values()) / len(vals)
            sd = (sum((x - mean) ** 2 for x in vals.values()) / len(vals)) ** 0.5
            if sd > 0:
                for i in ent:
                    score[i] += w * (vals[i] - mean) / sd

        def best(i):
            e = ent[i]
            return min(e["vr"] or 1 << 30, e["tr"] or 1 << 30)
        return sorted(((i, score[i], best(i)) for i in ent),
                      key=lambda x: (-x[1], x[2], self.chunks[x[0]]["doc"], self.chunks[x[0]]["seq"]))

    def fuse_files(self, fused, terms):
        """fuse.c's query_fuse_files (per_doc 0, file weight 1): the
        documents of the first POOL chunks ranked by their best chunk's
        place and their rank among them by the document BM25 (docrank's,
        chunk idf), each one's best chunk first, another chunk ahead of
        those scoring FILE_MARGIN less.  Paths, best first."""
        fs = self.index.file_bm25(terms, idf_from="chunk")
        path = [self.chunks[x[0]]["path"] for x in fused]
        docs = list(dict.fromkeys(path[:POOL]))
        d = sorted(((fs.get(p, 0.0), path.index(p) + 1, p) for p in docs), key=lambda x: (-x[0], x[1]))
        d = sorted(((1.0 / (FILE_RRF_K + place) + (FILE_WEIGHT / (FILE_RRF_K + r + 1) if sc > 0 else 0.0), place, p)
                    for r, (sc, place, p) in enumerate(d)), key=lambda x: (-x[0], x[1]))
        file_rank = {p: r + 1 for r, (_, _, p) in enumerate(d)}
        seen = set()
        firsts, others = [], []
        for x, p in zip(fused, path):
            (others if p in seen else firsts).append((x, p))
            seen.add(p)
        firsts.sort(key=lambda e: file_rank.get(e[1], 1 << 30))  # stable: fused order within a rank
        out, b = [], 0
        for a, (x, p) in enumerate(firsts):
            later = {q for _, q in firsts[a:]}
            while b < len(others) and others[b][0][1] - FILE_MARGIN > x[1] and others[b][1] not in later:
                out.append(others[b][1])
                b += 1
            out.append(p)
        return out + [q for _, q in others[b:]]

    def hybrid(self, qi, row, form, weight, files=True, restrict=None):
        """The chunk list (paths) of docpipe-query's hybrid, emulated."""
        t = self.text_side(row, form, weight)
        fused = self.fuse(self.vector_side(qi, t, restrict), t)
        hits_ = [[self.chunks[i]["path"], self.chunks[i]["seq"], s] for i, s, _ in fused]
        if not files:
            return [h[0] for h in hits_], hits_
        return self.fuse_files(fused, row["terms"]), hits_


# label, mode (hybrid, hybrid-f0, text), form, weight
VARIANTS = [("hybrid, emulated (docpipe-query's default)", "hybrid", None, 0),
            ("hybrid --file-weight 0, emulated", "hybrid-f0", None, 0),
            ("text, emulated", "text", None, 0)]
for _form in ("tp", "rs", "span"):
    for _w in (1.0, 0.5, 2.0, 4.0):
        VARIANTS.append(("%s w%g: hybrid" % (_form, _w), "hybrid", _form, _w))
        VARIANTS.append(("%s w%g: hybrid --file-weight 0" % (_form, _w), "hybrid-f0", _form, _w))
        VARIANTS.append(("%s w%g: text" % (_form, _w), "text", _form, _w))


def ranked(corp, qi, row, mode, form, weight):
    if mode == "text":
        return [corp.chunks[i]["path"] for i, _ in corp.text_side(row, form, weight)[:5]]
    files, _ = corp.hybrid(qi, row, form, weight, files=mode == "hybrid")
    return files[:5]


def evaluate(outs):
    corps = [Corpus(o) for o in outs]
    sets = sorted({r["set"] for c in corps for r in c.rows})
    held = [s for s in sets if s.startswith("heldout")]
    # The emulation against docpipe-query's own lists (top 5 files).
    for mode in ("hybrid", "hybrid-f0", "text"):
        same = tot = 0
        for c in corps:
            for qi, r in enumerate(c.rows):
                mine = ranked(c, qi, r, mode, None, 0)
                real = [h[0] for h in (r[mode] if mode != "text" else r["text"])[:5]]
                same += mine == real
                tot += 1
        print("# emulation of %s: the same 5 paths for %d of %d questions" % (mode, same, tot))
    print("| variant | held-out 1-9 | %s | first | by set (%s) | corpora |" %
          (" / ".join(c.name for c in corps), " ".join(held)))
    print("|---|---|---|---|---|---|")
    only = os.environ.get("ONLY")
    for label, mode, form, w in VARIANTS:
        if only and not any(o in label for o in only.split("|")):
            continue
        per_set = defaultdict(int)
        per_corpus = defaultdict(int)
        first = 0
        for c in corps:
            for qi, r in enumerate(c.rows):
                ok = [any(e in p for e in r["expect"]) for p in ranked(c, qi, r, mode, form, w)]
                if any(ok):
                    per_set[r["set"]] += 1
                    if r["set"] in held:
                        per_corpus[c.name] += 1
                        first += ok[0]
        print("| %s | %d | %s | %d | %s | %d |" % (
            label, sum(per_set[s] for s in held), " / ".join(str(per_corpus[c.name]) for c in corps),
            first, " ".join(str(per_set[s]) for s in held), per_set.get("corpora", 0)))
        sys.stdout.flush()


def misses(outs, form="tp", weight=1.0):
    """The held-out questions docpipe-query's hybrid misses that form
    (at weight) finds, and those it finds that form loses: the right
    file's rank (1-based, - past the pool) in docpipe-query's hybrid and
    with form."""
    print("| corpus | question | docpipe-query hybrid | %s w%g | text | text with %s |" % (form, weight, form))
    print("|---|---|---|---|---|---|")
    for o in outs:
        c = Corpus(o)
        for qi, r in enumerate(c.rows):
            if not r["set"].startswith("heldout"):
                continue

            def rank(files):
                return next((i + 1 for i, p in enumerate(dict.fromkeys(files))
                             if any(e in p for e in r["expect"])), None)
            files = c.hybrid(qi, r, form, weight)[0]
            base = rank([h[0] for h in r["hybrid"]])
            mine = rank(files)
            hit_base = any(any(e in h[0] for e in r["expect"]) for h in r["hybrid"][:5])
            hit_mine = any(any(e in p for e in r["expect"]) for p in files[:5])
            if hit_base == hit_mine and hit_base:
                continue
            text = rank([h[0] for h in r["text"][:POOL]])
            textp = rank([c.chunks[i]["path"] for i, _ in c.text_side(r, form, weight)])
            print("| %s | %s | %s | %s | %s | %s |" % (
                c.name, r["question"], base or "-", (mine or "-") if hit_mine or not hit_base else "%s (lost)" % mine,
                text or "-", textp or "-"))


def chunking(out):
    c = Corpus(out)
    paths = np.array([ch["path"] for ch in c.chunks])
    corpora = sorted({r["corpus"] for r in c.rows})
    same = 0
    for qi, r in enumerate(c.rows):
        restrict = np.array([p.endswith("/" + r["corpus"] + ".md") for p in paths])
        _, h = c.hybrid(qi, r, None, 0, files=False, restrict=restrict)
        same += [(x[0], x[1]) for x in h[:5]] == [(x[0], x[1]) for x in r["hybrid"][:5]]
    print("# emulation of hybrid: the same 5 chunks for %d of %d questions" % (same, len(c.rows)))
    print("| variant | %s | all |" % " | ".join(corpora))
    print("|---|%s---|" % ("---|" * len(corpora)))
    for label, mode, form, w in [("hybrid (docpipe-query's own top 5)", "real", None, 0)] + VARIANTS:
        if mode == "hybrid-f0":
            continue
        res = defaultdict(list)
        for qi, r in enumerate(c.rows):
            restrict = np.array([p.endswith("/" + r["corpus"] + ".md") for p in paths])
            if mode == "real":
                top = [(h[0], h[1]) for h in r["hybrid"][:5]]
            elif mode == "text":
                top = [(c.chunks[i]["path"], c.chunks[i]["seq"]) for i, _ in c.text_side(r, form, w)[:5]]
            else:
                _, h = c.hybrid(qi, r, form, w, files=False, restrict=restrict)
                top = [(x[0], x[1]) for x in h[:5]]
            spans = [tuple(c.chunks[c.at[k]]["range"]) for k in top]
            res[r["corpus"]].append(ev.score(spans, [tuple(x) for x in r["refs"]])[0])
        allv = [x for v in res.values() for x in v]
        print("| %s | %s | %.3f |" % (label.replace(" (docpipe-query's default)", ""),
                                      " | ".join("%.3f" % (sum(res[k]) / len(res[k])) for k in corpora),
                                      sum(allv) / len(allv)))
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1] == "dump-chunking":
        dump(sys.argv[2], "chunking", [sys.argv[4]], chunking=sys.argv[3])
    elif sys.argv[1] == "misses":
        misses(sys.argv[2:], os.environ.get("FORM", "tp"), float(os.environ.get("WEIGHT", "1")))
    elif sys.argv[1] == "chunking":
        chunking(sys.argv[2])
    else:
        evaluate(sys.argv[2:])
