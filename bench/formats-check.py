#!/usr/bin/python3
"""Per-format checks of docpipe-chunk's output on the corpus that
bench/formats-corpus.sh makes (issue 12, session 34).  Needs python3-lxml
(Debian's /usr/bin/python3) and pdftotext.

  formats-check.py chunks OUT [FORMAT...]   completeness, duplicates, structure,
      provenance (spot check), errors, throughput; one table row per format
  formats-check.py search OUT   compares OUT/search/FORMAT.ndjson
      (docpipe-query --json answers, written by formats-corpus.sh search)

Each per-file format is compared with its source Markdown (OUT/md) and with
the Markdown's own chunks (OUT/chunks/md.ndjson, the baseline):
- completeness: the source's words (front matter, HTML comments and tags,
  link targets and entities left out; lower-case \\w+ runs, as a multiset) found
  in the document's chunks; files under 95% are listed
- duplicates: a paragraph (40+ characters) in more chunks than the source
  has it (overlap is 0 by default, so every repeat is one)
- structure: the chunks' heading paths equal to those of the Markdown's
  chunks (per document); the source's fenced code blocks found inside a fence
  of the chunks (first non-empty line); the source's table rows as pipe rows
- provenance: up to SPOT (default 300) chunks per format drawn at random
  (seed 1): the element the locator names (libxml2's XPath, evaluated by
  lxml on the same file) begins with the chunk's first words; for PDF the
  chunk's first words are on page_start and its last words on page_end
  (pdftotext); for Markdown the byte range holds the chunk's text.
"""
import collections, json, os, random, re, subprocess, sys, zipfile

WORD = re.compile(r"[^\W_]+")  # underscores split: _emphasis_ and snake_case alike
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
TABLE_DELIM = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)+\|?\s*$")
CHUNKS = os.environ.get("CHUNKS", "chunks")  # OUT/CHUNKS, as formats-corpus.sh chunk wrote it
EXT = {"books": None, "md": ".md", "html": ".html", "docx": ".docx", "odt": ".odt", "epub": ".epub", "pdf": ".pdf"}


def words(s):
    return [w.lower() for w in WORD.findall(s)]


def strip_front_matter(src):
    for d in ("---", "+++"):
        if src.startswith(d + "\n"):
            end = src.find("\n" + d, len(d))
            if end > 0:
                return src[end + len(d) + 1:]
    return src


def clean_source(src):
    """The Markdown's text as a reader sees it: no front matter, comments,
    tags, link targets, reference definitions or entities."""
    s = strip_front_matter(src)
    s = re.sub(r"^( {0,3}(?:`{3,}|~{3,})).*$", r"\1", s, flags=re.M)  # info strings are attributes
    s = re.sub(r":[a-z_]+:", " ", s)  # emoji shortcodes (pandoc's gfm reader makes them characters)
    s = re.sub(r"<!--.*?-->", " ", s, flags=re.S)
    s = re.sub(r"^ {0,3}\[[^\]]+\]:\s*\S+.*$", " ", s, flags=re.M)
    s = re.sub(r"\]\([^)]*\)", "] ", s)
    s = re.sub(r"\]\[[^\]]*\]", "] ", s)  # reference link labels
    s = re.sub(r"</?[A-Za-z][^>\n]*>", " ", s)
    s = re.sub(r"&#?\w+;", " ", s)
    return s


def source_structure(src):
    """Headings ((level, words)), code blocks (first non-empty line's words), table rows."""
    heads, codes, rows = [], [], 0
    lines = strip_front_matter(src).split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        m = FENCE.match(ln)
        if m:
            mark, body = m.group(1), []
            i += 1
            while i < len(lines) and not (lines[i].strip().startswith(mark[0] * len(mark))
                                          and lines[i].strip().strip(mark[0]) == ""):
                body.append(lines[i])
                i += 1
            first = next((b for b in body if words(b)), "")
            if first:
                codes.append(words(first))
        else:
            h = HEADING.match(ln)
            if h and words(clean_heading(h.group(2))):
                heads.append((len(h.group(1)), " ".join(words(clean_heading(h.group(2))))))
            if TABLE_DELIM.match(ln) and "|" in ln:
                j = i + 1
                while j < len(lines) and "|" in lines[j] and lines[j].strip():
                    j += 1
                rows += j - i  # the delimiter row stands for the header row
                i = j - 1
        i += 1
    return heads, codes, rows


def clean_heading(h):
    """As the chunker's heading paths show it: no {#id}, shortcodes, comments, tags."""
    h = re.sub(r"\{#[^}]*\}|\{\{[<%].*?[>%]\}\}|<!--.*?-->|</?[A-Za-z][^>]*>", " ", h)
    return re.sub(r"\]\([^)]*\)", "] ", h)


def valid_paths(heads):
    """Every heading path the source's headings allow: each heading under the
    nearest heading of a smaller level before it, and every prefix of those."""
    paths, stack = {()}, []
    for level, w in heads:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, w))
        p = tuple(x for _, x in stack)
        for k in range(len(p) + 1):
            paths.add(p[:k])
    return paths


def heading_lines(text):
    """The (level, words) of the Markdown heading lines of a chunk text."""
    out, in_code, fence = [], False, ""
    for ln in text.split("\n"):
        m = FENCE.match(ln)
        if m and (not in_code or ln.strip().startswith(fence)):
            in_code, fence = (not in_code), m.group(1)
            continue
        h = None if in_code else HEADING.match(ln)
        if h and words(h.group(2)):
            out.append((len(h.group(1)), " ".join(words(h.group(2)))))
    return out


def heads_of(d):
    return [h for c in d.get("chunks", []) for h in heading_lines(c["text"])]


def sources_of(out, fmt, path):
    """The Markdown files (relative to OUT/md) a converted file was made from."""
    if fmt != "books":
        r = rel_of(out, fmt, path)
        return [r] if r else []
    b = os.path.basename(path)
    if b.startswith("rust-book."):
        order = [l.strip() for l in open(os.path.join(out, "rust-book.order"))]
        return [os.path.join("rust-book", c) for c in order]
    sec = b[len("hugo-"):].rsplit(".", 1)[0]
    root = os.path.join(out, "md", "hugo-docs", sec)
    return sorted(os.path.relpath(os.path.join(dp, f), os.path.join(out, "md"))
                  for dp, _, fs in os.walk(root) for f in fs if f.endswith(".md"))


def title_of(d):
    return " ".join(words(d.get("meta", {}).get("title", "")))


def front_title(src):
    m = re.match(r"(?:---|\+\+\+)\n(?:.*\n)*?title\s*[:=]\s*[\"']?(.*?)[\"']?\s*\n", src)
    return " ".join(words(m.group(1))) if m else None


def code_lines(text):
    """The words of the lines inside the fences of a chunk text."""
    out, in_code, fence = set(), False, ""
    for ln in text.split("\n"):
        m = FENCE.match(ln)
        if m and (not in_code or ln.strip().startswith(fence)):
            in_code, fence = (not in_code), m.group(1)
            continue
        if in_code and words(ln):
            out.add(" ".join(words(ln)))
    return out


def table_rows(text):
    """Rows of pipe tables (header row counted through its delimiter row)."""
    n, lines = 0, text.split("\n")
    for i, ln in enumerate(lines):
        if TABLE_DELIM.match(ln) and "|" in ln:
            j = i + 1
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                j += 1
            n += j - i
    return n


def load(path):
    docs, errors = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "document":
                docs[r["path"]] = r
            elif "error" in r:
                errors.append(r)
    return docs, errors


def rel_of(out, fmt, path):
    r = os.path.relpath(path, os.path.join(out, fmt))
    return r[: -len(EXT[fmt])] + ".md" if r.endswith(EXT[fmt]) else None


def multiset_recall(ref, got):
    rc, gc = collections.Counter(ref), collections.Counter(got)
    tot = sum(rc.values())
    return (sum(min(c, gc[w]) for w, c in rc.items()) / tot) if tot else 1.0, \
        sorted(((c - gc[w], w) for w, c in rc.items() if gc[w] < c), reverse=True)


def paragraphs(text):
    for p in re.split(r"\n\s*\n", text):
        p = " ".join(p.split())
        if len(p) >= 40 and not p.startswith("```") and not p.startswith("|"):
            yield p


def duplicates(doc, src_words):
    seen = collections.Counter()
    for c in doc.get("chunks", []):
        for p in set(paragraphs(c["text"])):
            seen[p] += 1
    joined = " " + " ".join(src_words) + " "
    extra = []
    for p, n in seen.items():
        if n > 1:
            w = " ".join(words(clean_source(p)))  # as the source is read
            if not w:  # markup only (an HTML comment): no text repeated
                continue
            have = max(1, joined.count(" " + w + " "))
            if n > have:
                extra.append((n - have, p[:80]))
    return extra


def first_words(text, n=6):
    """The chunk's first n words: a split block's repeated fence line (and
    its info string) and an ordered list item's number left out."""
    text = re.sub(r"\A\s*(`{3,}|~{3,}).*\n", "", text)
    text = re.sub(r"\A\s*\d+[.)]\s", "", text)
    return words(text)[:n]


def element_text(el, fmt):
    """Its text; in DOCX and ODT each paragraph (a table cell's too) apart."""
    if fmt not in ("docx", "odt"):
        return "".join(el.itertext())
    paras = [e for e in el.iter() if isinstance(e.tag, str) and e.tag.rsplit("}", 1)[-1] in ("p", "h")]
    return " ".join("".join(p.itertext()) for p in paras) if paras else "".join(el.itertext())


def spot_xpath(out, fmt, path, chunk, cache):
    from lxml import etree
    loc = chunk.get("locator")
    if not loc:
        return "no locator"
    member, _, xp = loc.rpartition("#") if "#" in loc else ("", "", loc)
    key = (path, member)
    if key not in cache:
        if fmt == "html":
            cache[key] = etree.parse(path, etree.HTMLParser())
        else:
            with zipfile.ZipFile(path) as z:
                data = z.read(member)
            if fmt == "epub":
                cache[key] = etree.ElementTree(etree.fromstring(data, etree.HTMLParser()))
            else:
                cache[key] = etree.ElementTree(etree.fromstring(data))
    tree = cache[key]
    ns = {k: v for k, v in tree.getroot().nsmap.items() if k} if hasattr(tree.getroot(), "nsmap") else {}
    try:
        found = tree.xpath(xp, namespaces=ns)
    except etree.XPathError as e:
        return "bad xpath %s (%s)" % (xp, e)
    if len(found) != 1:
        return "xpath %s names %d nodes" % (xp, len(found))
    ew = words(element_text(found[0], fmt))
    if fmt in ("docx", "odt") and re.match(r"\s*(`{3,}|~{3,})", chunk["text"]):
        # code lines are paragraphs of their own: the block runs on in the siblings
        for sib in found[0].itersiblings():
            ew += words(element_text(sib, fmt))
            if len(ew) > 5000:
                break
    cw = first_words(chunk["text"], 12)
    k = min(6, len(ew), len(cw))
    if k == 0:
        return "empty element %s" % xp
    # A chunk that starts inside a block split over the cap names that block.
    inside = (" " + " ".join(cw[:k]) + " ") in (" " + " ".join(ew) + " ")
    return None if inside else "element %s begins %r, chunk %r" % (xp, ew[:k], cw[:k])


def pdf_page_words(path, page, cache):
    key = (path, page)
    if key not in cache:
        t = subprocess.run(["pdftotext", "-q", "-f", str(page), "-l", str(page), path, "-"],
                           capture_output=True, text=True).stdout
        cache[key] = " " + " ".join(words(t)) + " "
    return cache[key]


def spot_pdf(path, chunk, cache):
    """The chunk's first 5 words in its pages' text, the first on page_start;
    its last 5 words there too, the last on page_end."""
    ps, pe = chunk.get("page_start"), chunk.get("page_end")
    if not ps or not pe:
        return "no page_start/page_end"
    cw = first_words(chunk["text"], 10**9)
    head, tail = cw[:5], cw[-5:]
    span = "".join(pdf_page_words(path, p, cache) for p in range(ps, pe + 1)).replace("  ", " ")
    if " " + " ".join(head) + " " not in span or " " + head[0] + " " not in pdf_page_words(path, ps, cache):
        return "first words %r not from page %d" % (head, ps)
    if " " + " ".join(tail) + " " not in span or " " + tail[-1] + " " not in pdf_page_words(path, pe, cache):
        return "last words %r not to page %d" % (tail, pe)
    return None


def spot_md(path, chunk, cache):
    if path not in cache:
        with open(path, "rb") as f:
            cache[path] = f.read()
    s, e = chunk.get("start"), chunk.get("end")
    if s is None or e is None:
        return "no start/end"
    sl = " %s " % " ".join(words(cache[path][s:e].decode("utf-8", "replace")))
    cw = first_words(chunk["text"], 10**9)
    ok = (" %s " % " ".join(cw[:8])) in sl and (" %s " % " ".join(cw[-8:])) in sl
    return None if ok else "bytes %d-%d hold %r..., chunk %r..." % (s, e, sl[:8], cw[:8])


def check_format(out, fmt, spot):
    docs, errors = load(os.path.join(out, CHUNKS, fmt + ".ndjson"))
    res = {"format": fmt, "docs": len(docs), "errors": [(e.get("path"), e["error"]) for e in errors]}
    low, dups, ratios = [], [], []
    heads_same = heads_total = 0
    code_kept = code_total = rows_kept = rows_total = 0
    head_diffs, code_lost = [], []
    allchunks = []
    for path, d in sorted(docs.items()):
        rels = sources_of(out, fmt, path)
        if not rels:
            continue
        rel = rels[0] if len(rels) == 1 else os.path.relpath(path, out)
        srcs = []
        for r_ in rels:
            with open(os.path.join(out, "md", r_), encoding="utf-8", errors="replace") as f:
                srcs.append(f.read())
        src = srcs[0]
        text = "\n\n".join(c["text"] for c in d.get("chunks", []))
        sw = [w for x in srcs for w in words(clean_source(x))]
        r, missing = multiset_recall(sw, words(text))
        ratios.append(r)
        if r < 0.95:
            low.append((r, rel, missing[:8]))
        for n, p in duplicates(d, sw):
            dups.append((rel, n, p))
        if len(rels) > 1:  # a book: its chapters' headings found as headings, in any order
            heads, codes, rows = [], [], 0
            for x in srcs:
                h_, c_, r_ = source_structure(x)
                heads, codes, rows = heads + [w for _, w in h_], codes + c_, rows + r_
            hr, _ = multiset_recall(heads, [w for _, w in heads_of(d)])
        if len(rels) == 1:
            heads, codes, rows = source_structure(src)
        title = front_title(src)
        valid = valid_paths(heads) if len(rels) == 1 else set()
        if len(rels) > 1:
            heads_total += 1
            heads_same += hr >= 0.99
            if hr < 0.99:
                head_diffs.append((rel, "%.1f%% of the chapters' headings found" % (100 * hr)))
            skip_heads = True
        else:
            skip_heads = False
        heads_total += not skip_heads
        bad_paths = []
        for c in d.get("chunks", []) if not skip_heads else []:
            hp = tuple(" ".join(words(h)) for h in c.get("heading", []))
            if hp and title and hp[0] == title and (not heads or heads[0][1] != title):
                hp = hp[1:]
            if hp not in valid:
                bad_paths.append(hp)
        got = heads_of(d) if not skip_heads else []
        if fmt == "pdf":  # levels and nesting are the outline's (groff's), not the source's
            got, heads, bad_paths = [w for _, w in got], [w for _, w in heads], []
        # pandoc writes the metadata title as a heading (EPUB: a title page and
        # the first chapter's h1; PDF: ms's .TL, in the outline): not the source's
        extra = {title_of(d), title}
        name = (lambda h: h) if fmt == "pdf" else (lambda h: h[1])
        for _ in range(2 * (not skip_heads)):
            if got != heads and got and name(got[0]) in extra:
                got = got[1:]
        bad_paths = [hp for hp in bad_paths if not (hp and hp[0] in extra and hp[1:] in valid)]
        if skip_heads:
            pass
        elif not bad_paths and got == heads:
            heads_same += 1
        else:
            head_diffs.append((rel, "paths not in the source: %s" % bad_paths[:3] if bad_paths else
                               "heading lines %s" % (next(((i, x, y) for i, (x, y) in enumerate(zip(got, heads)) if x != y),
                                                         ("count", len(got), len(heads))),)))
        lines = code_lines(text)
        code_total += len(codes)
        for c in codes:
            if " ".join(c) in lines:
                code_kept += 1
            else:
                code_lost.append((rel, " ".join(c)[:60]))
        rows_total += rows
        rows_kept += min(rows, table_rows(text))
        for c in d.get("chunks", []):
            allchunks.append((path, c))
    rnd = random.Random(1)
    sample = rnd.sample(allchunks, min(spot, len(allchunks)))
    bad, cache = [], {}
    for path, c in sample:
        try:
            kind = fmt if fmt != "books" else path.rsplit(".", 1)[-1]
            if kind == "pdf":
                why = spot_pdf(path, c, cache)
            elif kind == "md":
                why = spot_md(path, c, cache)
            else:
                why = spot_xpath(out, kind, path, c, cache)
        except Exception as e:  # a locator the checker cannot follow is a finding too
            why = "%s: %s" % (type(e).__name__, e)
        if why:
            bad.append((os.path.relpath(path, out), c.get("seq"), why))
    res.update(chunks=len(allchunks), mean_recall=sum(ratios) / len(ratios) if ratios else 0,
               low=sorted(low), dups=dups, heads=(heads_same, heads_total), head_diffs=head_diffs,
               code=(code_kept, code_total), code_lost=code_lost, rows=(rows_kept, rows_total),
               spot=(len(sample) - len(bad), len(sample)), spot_bad=bad)
    tf = os.path.join(out, CHUNKS, fmt + ".time")
    if os.path.exists(tf):
        wall, user, sys_, kb = open(tf).read().split()[-4:]
        inp = [json.loads(l)["path"] for l in open(os.path.join(out, CHUNKS, fmt + ".in"))]
        size = sum(os.path.getsize(p) for p in inp)
        res.update(files=len(inp), mb=size / 1e6, wall=float(wall), cpu=float(user) + float(sys_), rss_mb=int(kb) / 1024)
    return res


def report(r, verbose):
    h, c, t, sp = r["heads"], r["code"], r["rows"], r["spot"]
    cpu = max(r.get("cpu", 0), 1e-9)
    print("| %s | %d | %.1f | %d | %.1f%% (%d) | %d | %d/%d | %d/%d | %d/%d | %d/%d | %.2f s: %.1f MB/s, %.0f docs/s | %.1f s | %.0f MB |" % (
        r["format"], r.get("files", r["docs"]), r.get("mb", 0), len(r["errors"]), 100 * r["mean_recall"], len(r["low"]),
        len(r["dups"]), h[0], h[1], c[0], c[1], t[0], t[1], sp[0], sp[1], r.get("cpu", 0), r.get("mb", 0) / cpu,
        r.get("files", 0) / cpu, r.get("wall", 0), r.get("rss_mb", 0)))
    if verbose:
        for p, e in r["errors"][:20]:
            print("#   error %s: %s" % (p, e))
        for ratio, rel, miss in r["low"][:40]:
            print("#   low %.3f %s missing %s" % (ratio, rel, miss))
        for rel, n, p in r["dups"][:20]:
            print("#   dup x%d %s: %s" % (n + 1, rel, p))
        for rel, d in r["head_diffs"][:15]:
            print("#   heads %s: %s" % (rel, d))
        if r["format"] != "pdf":
            for rel, c in r["code_lost"][:10]:
                print("#   code %s: %s" % (rel, c))
        for p, seq, why in r["spot_bad"][:15]:
            print("#   spot %s chunk %s: %s" % (p, seq, why))


def main_chunks(out, fmts, verbose):
    spot = int(os.environ.get("SPOT", "300"))
    print("| format | files | MB | failed | word recall, mean (files < 95%) | paragraphs repeated | headings as the source's | code blocks kept | table rows kept | provenance spot check | CPU: MB/s, docs/s | wall | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for fmt in fmts:
        report(check_format(out, fmt, spot), verbose)


def main_search(out):
    qs = [json.loads(l) for l in open(os.path.join(out, "search", "questions.jsonl"))]
    ans = {}
    for f in sorted(os.listdir(os.path.join(out, "search"))):
        if f.endswith(".ndjson"):
            fmt = f[:-7]
            ans[fmt] = collections.defaultdict(list)
            for l in open(os.path.join(out, "search", f)):
                r = json.loads(l)
                m = re.search(r"(rust-book|hugo-docs)/.*", r["path"])
                stem = os.path.splitext(m.group(0) if m else r["path"])[0]
                if stem not in ans[fmt][r["q"]]:
                    ans[fmt][r["q"]].append(stem)
    base = ans.get("md", {})
    print("| format | questions | same first file as Markdown | expected file in top 5 | top-5 files shared with Markdown |")
    print("|---|---|---|---|---|")
    for fmt, a in sorted(ans.items()):
        same = exp = 0
        shared = []
        for i, q in enumerate(qs):
            hits, bh = a.get(i, []), base.get(i, [])
            same += bool(hits and bh and hits[0] == bh[0])
            exp += any(os.path.basename(h) + ".md" in q["expect"] for h in hits[:5])
            if bh:
                shared.append(len(set(hits[:5]) & set(bh[:5])) / len(set(bh[:5])))
        print("| %s | %d | %d | %d | %.0f%% |" % (fmt, len(qs), same, exp, 100 * sum(shared) / max(len(shared), 1)))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "chunks":
        main_chunks(sys.argv[2], sys.argv[3:] or ["md", "html", "docx", "odt", "epub", "pdf", "books"],
                    os.environ.get("VERBOSE") == "1")
    elif len(sys.argv) == 3 and sys.argv[1] == "search":
        main_search(sys.argv[2])
    else:
        sys.exit(__doc__)
