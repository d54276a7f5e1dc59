#!/usr/bin/env python3
"""Anchor text for issue 11, measured offline before any C (session 59,
helper h59a: docs/PERFORMANCE.md, "Issue 11: anchor text, the words other
pages link with, measured before building it").  The words a page uses when it links to another describe that
page in the linking page's vocabulary: each corpus file gets a field of the
words of the links that point at it, and one of the sentences around those
links, which docrank.py's eval adds to the file ranking (ANCHORS=DIR).

  anchors.py stats CORPUS ROOT
      every link of ROOT's Markdown files by kind and how it resolves
      (SHOW=N: the first N not resolved).
  anchors.py build OUT.json CORPUS ROOT PREFIX
      (DATABASE_URL: any server, for to_tsvector('english')) each target
      file's anchor field ("anchors": its lexemes' occurrences over the
      distinct (linking file, link text) pairs pointing at it) and context
      field ("context": likewise the sentences the links stand in), keyed
      by PREFIX + the file's path under ROOT (the path docpipe-discover
      stores).

CORPUS is rust-book (mdBook: links relative to the linking file, .html for
.md, SUMMARY.md the table of contents) or hugo-docs (site-absolute
/section/page/ paths, front-matter url and aliases, [term](g) for the
glossary, {{< ref >}} / relref shortcodes).  Links are found as a Markdown
parser finds them outside code: fenced code and code spans, HTML comments
and the front matter are masked first; inline [text](href), reference
[text][label], [text][] and [text] with their [label]: href definitions;
images are not links.  On both corpora this finds the same (href, text)
pairs as md4c's parse (MD_DIALECT_GITHUB) for every link that is not
external (md4c 0.4.8, without footnotes, takes rust-book's one footnote
definition for a link).  Not counted: self-links, and links from a
table-of-contents page (most of its non-empty lines a link alone), whose
text is the target's title, which the target's headings hold already.
"""
import json
import os
import posixpath
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)((?:(?!\n\s*\n).)+?)(?<!`)\1(?!`)", re.S)  # not over a blank line
REF_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*(<[^>]*>|\S+).*$", re.M)
# [text](href "title"): text with one level of nested brackets; href
# without spaces, or <...>, or a Hugo shortcode {{< ... >}}
INLINE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(\{\{[<%].*?[>%]\}\}|<[^>]*>|[^)\s]*(?:\([^)\s]*\)[^)\s]*)*)"
                    r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REF_USE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\](?:\[([^\]]*)\])?(?![(\[])")
SHORTCODE_REF = re.compile(r"\{\{[<%]\s*(?:rel)?ref\s+(?:path=)?\"([^\"]+)\"")
PLACE = re.compile(r"\x00(\d+)\x00")
MARK = re.compile(r"\x01(\d+)\x02")  # a link found, its index
LINK_ALONE = re.compile(r"^\s*(?:[-*+]|\d+\.)?\s*\x01\d+\x02\s*$")


def front_matter(text):
    """(front matter, body): YAML --- or TOML +++ at the file's start."""
    for d in ("---", "+++"):
        if text.startswith(d + "\n"):
            end = text.find("\n" + d, len(d))
            if end >= 0:
                return text[len(d) + 1:end], text[end + len(d) + 1:]
    return "", text


def mask(body):
    """The body with fenced code blanked, each code span replaced by a
    placeholder (its content kept for link text), then HTML comments
    removed (one in a code span is the span's text)."""
    out, fence = [], None
    for line in body.split("\n"):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            out.append("")
        elif m:
            fence = m.group(1)
            out.append("")
        else:
            out.append(line)
    spans = []

    def keep(m):
        spans.append((m.group(0), m.group(2).strip()))
        return "\x00%d\x00" % (len(spans) - 1)
    return re.sub(r"<!--.*?-->", "", CODE_SPAN.sub(keep, "\n".join(out)), flags=re.S), spans


def label_key(s):
    return " ".join(s.lower().split())


def links(text):
    """[(link text, href, kind, context)] of one Markdown file (context:
    the sentence around the link, the link's text in it), and whether it
    is a table of contents (most non-empty lines one link alone)."""
    body, spans = mask(front_matter(text)[1])

    def unspan(s, raw=False):
        """s with its code spans back: as written (a label), or their text."""
        return PLACE.sub(lambda m: spans[int(m.group(1))][0 if raw else 1], s)
    defs = {}
    for m in REF_DEF.finditer(body):
        defs.setdefault(label_key(unspan(m.group(1), True)), m.group(2).strip("<>"))
    body = REF_DEF.sub("", body)
    out = []

    def found(text, href, kind):
        out.append([unspan(text), href, kind])
        return "\x01%d\x02" % (len(out) - 1)

    def inline(m):
        if m.group(1) or "\x00" in m.group(3):  # an image; code
            return " "
        return found(m.group(2), m.group(3).strip("<>"), "inline")
    body = INLINE.sub(inline, body)

    def ref(m):
        label = label_key(unspan(m.group(3) or m.group(2), True))
        if m.group(1) or label not in defs or label.startswith("^"):  # an image, text, a footnote
            return m.group(0)
        return found(m.group(2), defs[label], "reference")
    body = REF_USE.sub(ref, body)
    for para in re.split(r"\n\s*\n", body):
        for sentence in re.split(r"(?<=[.!?:])\s+", " ".join(para.split())):
            words = unspan(MARK.sub(lambda m: out[int(m.group(1))][0], sentence))
            for m in MARK.finditer(sentence):
                out[int(m.group(1))].append(words)
    lines = [l for l in body.split("\n") if l.strip()]
    toc = bool(lines) and sum(bool(LINK_ALONE.match(l)) for l in lines) > len(lines) / 2
    return out, toc


def plain(s):
    """Link text without Markdown emphasis or markup."""
    s = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", s)
    return re.sub(r"[*_`<>]|\\", " ", s).strip()


class Resolver:
    """A corpus's hrefs to its files (paths under ROOT)."""

    def __init__(self, corpus, root):
        self.corpus, self.root = corpus, root
        self.files = []
        for d, _, fs in os.walk(root):
            self.files += [os.path.relpath(os.path.join(d, f), root) for f in fs if f.endswith(".md")]
        self.files.sort()
        self.url = {}  # hugo: a page's URL path (lower case, no slashes at the ends) -> file
        for f in self.files:
            stem = f[:-3]
            base = posixpath.basename(stem)
            key = posixpath.dirname(stem) if base in ("_index", "index") else stem
            self.url.setdefault(key.lower(), f)
        if corpus == "hugo-docs":
            for f in self.files:
                fm, _ = front_matter(open(os.path.join(root, f), encoding="utf-8").read())
                for m in re.finditer(r"^url:\s*\"?([^\"\n]+)", fm, re.M):
                    self.url.setdefault(m.group(1).strip("/").lower(), f)
                for m in re.finditer(r"^aliases:\s*\[([^\]]*)\]", fm, re.M):
                    for a in m.group(1).split(","):
                        self.url.setdefault(a.strip(" '\"/").lower(), f)
                for m in re.finditer(r"^aliases:\s*\n((?:\s*-\s*.+\n)+)", fm + "\n", re.M):
                    for a in re.findall(r"-\s*(.+)", m.group(1)):
                        self.url.setdefault(a.strip(" '\"/").lower(), f)

    def glossary(self, text):
        t = re.sub(r"[^a-z0-9]+", "-", plain(text).lower()).strip("-")
        for cand in (t, t[:-1] if t.endswith("s") else None, t[:-2] if t.endswith("es") else None,
                     t[:-3] + "y" if t.endswith("ies") else None, t.replace("-", ""),
                     t[:-3] if t.endswith("ing") else None, t[:-1] if t.endswith("d") else None,
                     t[:-2] if t.endswith("ed") else None):
            f = cand and "quick-reference/glossary/%s.md" % cand
            if f and f in self.url.values():
                return f
        return None

    def resolve(self, source, text, href):
        """(target file or None, how): how says why not, or which rule."""
        if self.corpus == "hugo-docs" and href == "g":
            f = self.glossary(text)
            return f, "glossary" if f else "glossary, no such term"
        m = SHORTCODE_REF.search(href)
        if m:
            href, how = m.group(1), "shortcode"
        elif href.startswith("{{"):
            return None, "external" if "eturl" in href else "other shortcode"  # eturl: a GitHub source
        else:
            how = None
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I) or href.startswith("//"):
            return None, "external"
        path = href.split("#")[0].split("?")[0]
        if not path:
            return None, "fragment only"
        src_dir = posixpath.dirname(source)
        if self.corpus == "rust-book":
            p = posixpath.normpath(posixpath.join(src_dir, path))
            if p.endswith(".html"):
                p = p[:-5] + ".md"
            return (p, how or "relative") if p in self.files else (None, "outside the corpus")
        # hugo-docs: a path as written (file), then a site-absolute URL
        # path, then relative to the page's directory, then to the page's
        # own URL (a regular page a/b.md is served at /a/b/)
        if path.endswith(".md"):
            for p in (posixpath.normpath(posixpath.join(src_dir, path)), path.lstrip("/")):
                if p in self.files:
                    return p, how or "file"
        key = path.strip("/").lower()
        if key.endswith(".md"):
            key = key[:-3]
        if path.startswith("/"):
            f = self.url.get(key)
            return (f, how or "site-absolute") if f else (None, "unresolved")
        own = source[:-3]
        if posixpath.basename(own) in ("_index", "index"):
            own = posixpath.dirname(own)
        for base, rule in ((src_dir, "relative"), (own, "relative to the page's URL"), ("", "site")):
            f = self.url.get(posixpath.normpath(posixpath.join(base, key)).lower().strip("/.")) if base else \
                self.url.get(key)
            if f:
                return f, how or rule
        return None, "unresolved"


def collect(corpus, root):
    """[(source, target or None, text, href, how, kind, from a TOC,
    context)], and the TOC pages."""
    res = Resolver(corpus, root)
    out, tocs = [], []
    for f in res.files:
        ls, toc = links(open(os.path.join(root, f), encoding="utf-8").read())
        if toc:
            tocs.append(f)
        for text, href, kind, context in ls:
            t, how = res.resolve(f, text, href)
            out.append((f, t, text, href, how, kind, toc, context))
    return res, out, tocs


def stats(corpus, root):
    res, out, tocs = collect(corpus, root)
    print("%s: %d files, %d links (%s); tables of contents: %s" % (
        corpus, len(res.files), len(out), ", ".join("%s %d" % kv for kv in Counter(o[5] for o in out).items()),
        " ".join(tocs) or "none"))
    for how, n in Counter(o[4] for o in out).most_common():
        print("  %-28s %5d" % (how, n))
    ok = [o for o in out if o[1]]
    self_ = sum(o[0] == o[1] for o in ok)
    fromtoc = sum(o[6] for o in ok if o[0] != o[1])
    kept = [o for o in ok if o[0] != o[1] and not o[6]]
    print("  resolved %d of %d (%.1f%%; of those to another file %d of %d); self-links %d, from a TOC %d; kept %d,"
          " distinct (source, target, text) %d, targets %d of %d files" % (
              len(ok), len(out), 100.0 * len(ok) / max(1, len(out)), len(ok),
              sum(o[4] not in ("external", "fragment only") for o in out), self_, fromtoc, len(kept),
              len({(o[0], o[1], plain(o[2]).lower()) for o in kept}), len({o[1] for o in kept}), len(res.files)))
    for o in [o for o in out if o[4] in ("unresolved", "glossary, no such term", "outside the corpus")][:int(
            os.environ.get("SHOW", "0"))]:
        print("    %s -> %s [%s] %s" % (o[0], o[3], o[2], o[4]))


def lexemes(texts):
    """Each text's lexemes with their occurrences, by the server's
    to_tsvector('english') (docpipe's lexer agrees with it)."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv") as tf:
        for i, t in enumerate(texts):
            tf.write("%d\t%s\n" % (i, re.sub(r"[\t\n\\]", " ", t)))
        tf.flush()
        sql = ("CREATE TEMP TABLE a (id int, t text);\n\\copy a from '%s'\n"
               "SELECT a.id, u.lexeme, coalesce(array_length(u.positions, 1), 1)"
               " FROM a, unnest(to_tsvector('english', a.t)) u;\n" % tf.name)
        out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                              "-d", os.environ["DATABASE_URL"]], input=sql, capture_output=True, text=True,
                             check=True)
    lex = defaultdict(Counter)
    for l in out.stdout.splitlines():
        i, w, n = l.split("\t")
        lex[int(i)][w] += int(n)
    return [lex[i] for i in range(len(texts))]


def build(out_path, corpus, root, prefix):
    """The anchor field (link texts) and the context field (the sentences
    around the links), each a distinct text once per linking file."""
    _, out, _ = collect(corpus, root)
    kept = [o for o in out if o[1] and o[0] != o[1] and not o[6]]
    doc = {"corpus": corpus}
    for name, col in (("anchors", 2), ("context", 7)):
        pairs = sorted({(o[1], o[0], plain(o[col]).lower()) for o in kept})
        field = defaultdict(Counter)
        for (target, _, _), lx in zip(pairs, lexemes([p[2] for p in pairs])):
            field[prefix + target].update(lx)
        doc[name] = field
        print("%s %s: %d (source, target, text) pairs, %d targets, %d lexeme occurrences" % (
            corpus, name, len(pairs), len(field), sum(sum(c.values()) for c in field.values())))
    json.dump(doc, open(out_path, "w"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["stats"] and len(sys.argv) == 4:
        stats(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["build"] and len(sys.argv) == 6:
        build(*sys.argv[2:6])
    else:
        raise SystemExit(__doc__)
