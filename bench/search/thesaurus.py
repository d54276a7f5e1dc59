#!/usr/bin/python3
"""Query expansion from WordNet 3.0, measured before building it (issue 11,
session 53: docs/PERFORMANCE.md, "Issue 11: query expansion from WordNet").

  thesaurus.py prepare OUT.json QUESTIONS.jsonl...
      for every question and method, its content words and their related
      words from WordNet (Debian's wordnet-base: /usr/share/wordnet)
  thesaurus.py query [--x-method M] [--x-weight W] [--x-rare T] ARGS...
      docpipe-query ARGS with the question's expansion (THESAURUS_JSON: the
      prepared file; THESAURUS_QUERY: a docpipe-query built with
      thesaurus-query.patch, which adds DP_EXPAND_WORDS' lexemes to the
      question's text terms, their BM25 idf times DP_EXPAND_WEIGHT).
      --x-rare T: expand only the words held by at most T chunks of the
      corpus, with every related word the corpus holds (no cap).

Methods (a word: the question's words of 3+ letters, PostgreSQL's english
stop words left out, brought to WordNet's base form as its morphy does):
  first        the lemmas of the first (most frequent) synset of each part of
               speech the word has
  first-dom    the first synset of its dominant part of speech (the one with
               the most sense-tagged senses)
  first2-dom   its first two synsets
  all-dom      all its synsets
  deriv-dom    the derivationally related forms of the word in its first synset
  first+deriv-dom  first-dom and deriv-dom
  allrel-dom   all synsets of the dominant part of speech, with their
               hypernyms, hyponyms and derivationally related forms
At most 3 related words a word (but with --x-rare); multi-word lemmas
("cut_short") and numbers are left out.

Used as a bench/search/run.sh variant, e.g.
  THESAURUS_JSON=/tmp/x.json THESAURUS_QUERY=/tmp/patched/bin/docpipe-query \\
  VARIANTS='hybrid-first:--mode hybrid --x-method first --x-weight 0.5' \\
  DOCPIPE_BIN=DIR bench/search/run.sh
with DIR holding the other stages and a link named docpipe-query to this
script (called by that name, it is "thesaurus.py query")."""
import json
import os
import re
import subprocess
import sys

WN = os.environ.get("WORDNET_DIR", "/usr/share/wordnet")
POS = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
STOP_FILE = "/usr/share/postgresql/15/tsearch_data/english.stop"
# WordNet's morphy: detachment rules by part of speech.
RULES = {"n": [("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
               ("men", "man"), ("ies", "y")],
         "v": [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
               ("ing", "")],
         "a": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")], "r": []}
CAP = 3


class WordNet:
    def __init__(self):
        self.index, self.tagged, self.exc, self.cache = {}, {}, {}, {}
        for p, name in POS.items():
            for line in open(os.path.join(WN, "index." + name)):
                if line.startswith(" "):
                    continue
                f = line.split()
                pc = int(f[3])
                self.index[(f[0], p)] = f[4 + pc + 2:]
                self.tagged[(f[0], p)] = int(f[4 + pc + 1])
            for line in open(os.path.join(WN, name + ".exc")):
                f = line.split()
                self.exc.setdefault(p, {}).setdefault(f[0], []).extend(f[1:])
        self.data = {p: open(os.path.join(WN, "data." + POS[p]), "rb") for p in POS}

    def synset(self, p, off):
        """(words, pointers) of the synset at byte offset off of data.POS."""
        if (p, off) not in self.cache:
            fh = self.data[p]
            fh.seek(int(off))
            f = fh.readline().decode().split("|")[0].split()
            n = int(f[3], 16)
            words = [f[4 + 2 * i] for i in range(n)]
            i = 4 + 2 * n
            ptrs = [(f[i + 1 + 4 * j], f[i + 2 + 4 * j], "a" if f[i + 3 + 4 * j] == "s" else f[i + 3 + 4 * j],
                     f[i + 4 + 4 * j]) for j in range(int(f[i]))]
            self.cache[(p, off)] = (words, ptrs)
        return self.cache[(p, off)]

    def morphy(self, w, p):
        """The first base form of w that WordNet holds as part of speech p."""
        out = [w] if (w, p) in self.index else []
        out += [b for b in self.exc.get(p, {}).get(w, []) if (b, p) in self.index]
        out += [w[:len(w) - len(s)] + r for s, r in RULES[p]
                if w.endswith(s) and (w[:len(w) - len(s)] + r, p) in self.index]
        return out[:1]

    def related(self, w, method):
        pl = "nvar"
        if method.endswith("-dom"):
            cands = [(self.tagged[(b, p)], p) for p in "nvar" for b in self.morphy(w, p)]
            cands = [c for c in cands if c[0] > 0]
            pl = [max(cands)[1]] if cands else []
        got, bases = [], {w}
        for p in pl:
            for base in self.morphy(w, p):
                bases.add(base)
                offs = self.index[(base, p)]
                sel = offs[:2] if method.startswith("first2") else offs[:1] if method.startswith("first") \
                    or method.startswith("deriv") else offs
                for off in sel:
                    words, ptrs = self.synset(p, off)
                    if not method.startswith("deriv"):
                        got += words
                    if "deriv" in method:
                        mine = [i + 1 for i, x in enumerate(words) if x.lower() == base]
                        got += [self.synset(p2, o2)[0][int(st[2:], 16) - 1] for sym, o2, p2, st in ptrs
                                if sym == "+" and int(st[:2], 16) in mine]
                    if "rel" in method:
                        for sym, o2, p2, st in ptrs:
                            if sym in ("+", "~", "@"):
                                got += self.synset(p2, o2)[0]
        seen = []
        for x in got:
            x = re.sub(r"\(.*\)$", "", x.lower())
            if "_" not in x and x not in bases and x not in seen and len(x) > 2 \
                    and not any(c.isdigit() for c in x):
                seen.append(x)
        return seen


STOP = set(open(STOP_FILE).read().split()) if os.path.exists(STOP_FILE) else set()
METHODS = ["first", "first-dom", "first2-dom", "all-dom", "deriv-dom", "first+deriv-dom", "allrel-dom"]


def words_of(q):
    return [w for w in re.findall(r"[a-z]+", q.lower()) if w not in STOP and len(w) > 2]


def prepare(out, files):
    wn = WordNet()
    qs = {json.loads(line)["question"] for f in files for line in open(f)}
    res = {q: {m: [[w, wn.related(w, m)] for w in words_of(q)] for m in METHODS} for q in qs}
    json.dump(res, open(out, "w"))


def psql(sql):
    """Rows of sql (tab-separated fields) on $DATABASE_URL."""
    out = subprocess.run(["psql", "-qAtX", "-F", "\t", os.environ["DATABASE_URL"]], input=sql,
                         capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def sql_array(words):
    return "ARRAY[" + ",".join("'%s'" % w.replace("'", "''") for w in words) + "]::text[]"


def corpus_stats(pairs_of_all):
    """The english lexemes of every word in the prepared file and the corpus's
    chunk counts of theirs (ts_stat), from $DATABASE_URL once, then from a
    cache beside THESAURUS_JSON (per database URL)."""
    cache = "%s.%s.stats" % (os.environ["THESAURUS_JSON"],
                             re.sub(r"[^A-Za-z0-9]+", "_", os.environ["DATABASE_URL"])[-80:])
    if not os.path.exists(cache):
        words = sorted({x for ms in pairs_of_all.values() for pairs in ms.values()
                        for w, rel in pairs for x in [w] + rel})
        stems = {r[0]: r[1].split() for r in psql(
            "SELECT w, array_to_string(tsvector_to_array(to_tsvector('english', w)), ' ') FROM unnest(%s) w"
            % sql_array(words))}
        df = {r[0]: int(r[1]) for r in psql("SELECT word, ndoc FROM ts_stat('SELECT tsv FROM docpipe.chunks')")}
        json.dump([stems, df], open(cache + ".tmp", "w"))
        os.rename(cache + ".tmp", cache)
    return json.load(open(cache))


def rare_expansion(pairs, rare, stems, df):
    """The related words of the question's words held by at most rare chunks,
    those the corpus holds (every lexeme of theirs in some chunk)."""
    add = []
    for w, rel in pairs:
        st = stems.get(w, [])
        if not st or max(df.get(s, 0) for s in st) > rare:
            continue
        add += [x for x in rel if stems.get(x) and all(df.get(s, 0) > 0 for s in stems[x])]
    return add


def query(args):
    out, method, weight, rare = [], None, "1", None
    i = 0
    while i < len(args):
        if args[i] in ("--x-method", "--x-weight", "--x-rare"):
            method, weight, rare = (args[i + 1] if args[i] == "--x-method" else method,
                                    args[i + 1] if args[i] == "--x-weight" else weight,
                                    int(args[i + 1]) if args[i] == "--x-rare" else rare)
            i += 2
        else:
            out.append(args[i])
            i += 1
    env = dict(os.environ)
    if method:
        prepared = json.load(open(os.environ["THESAURUS_JSON"]))
        pairs = prepared[out[-1]][method]
        add = rare_expansion(pairs, rare, *corpus_stats(prepared)) if rare is not None \
            else [x for w, rel in pairs for x in rel[:CAP]]
        env["DP_EXPAND_WORDS"], env["DP_EXPAND_WEIGHT"] = " ".join(add), weight
        if os.environ.get("THESAURUS_LOG"):
            with open(os.environ["THESAURUS_LOG"], "a") as log:
                log.write(json.dumps([out[-1], method, rare, add]) + "\n")
    os.execve(os.environ["THESAURUS_QUERY"], ["docpipe-query"] + out, env)


if __name__ == "__main__":
    if sys.argv[1:2] == ["prepare"]:
        prepare(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["query"]:
        query(sys.argv[2:])
    elif os.path.basename(sys.argv[0]) == "docpipe-query":
        query(sys.argv[1:])
    else:
        sys.exit(__doc__)
