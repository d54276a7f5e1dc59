#!/usr/bin/env python3
"""Checks docpipe-chunk's document records (stdin, NDJSON) against their
source files: prints one line per problem and a summary line
"docs N chunks N verbatim N repeated N nested-pieces N problems N".

A chunk's [start, end) must give its text exactly, or (a piece of a split
code block or table) its text must be lines repeated from the block
followed or preceded by exactly that slice.  line_start/line_end must be
the lines of start and end-1.  No heading path may hold a front-matter
line (key: value), no chunk may be a heading alone, and no chunk may start
inside a fenced code block unless its text starts with that fence, or it
is a piece of a nested fenced block larger than the cap that starts where
the previous chunk ends (no overlap)."""
import json
import re
import sys

FENCE = re.compile(rb'^[ \t>]*(`{3,}|~{3,})')
HEADING = re.compile(r'^(#{1,6}[ \t].*|#{1,6})$')
FM_KEY = re.compile(r'^(title|linkTitle|description|weight|date|categories|keywords|tags|draft|slug|aliases|toc|params|menu|layout|type|url|publishDate|lastmod)\s*[:=]')


def fenced_ranges(data):
    """(open_line_start, close_line_end) of top-level-looking fenced blocks."""
    out, pos, opened = [], 0, None
    for line in data.split(b'\n'):
        m = FENCE.match(line)
        if m:
            run = m.group(1)
            if opened is None:
                opened = (pos, run)
            elif run[0] == opened[1][0] and len(run) >= len(opened[1]) and \
                    line.strip(b' \t>') == run:
                out.append((opened[0], pos + len(line)))
                opened = None
        pos += len(line) + 1
    return out


def main():
    docs = chunks = verbatim = repeated = nested = problems = 0

    def bad(path, seq, msg):
        nonlocal problems
        problems += 1
        print(f'{path} chunk {seq}: {msg}')

    for line in sys.stdin:
        rec = json.loads(line)
        if rec.get('kind') != 'document':
            bad(rec.get('path'), '-', f"not a document: {rec.get('error')}")
            continue
        docs += 1
        path = rec['path']
        data = open(path, 'rb').read()
        fences = fenced_ranges(data)
        prev_end = 0
        for c in rec['chunks']:
            chunks += 1
            s, e, text = c['start'], c['end'], c['text'].encode()
            piece = data[s:e]
            if piece == text:
                verbatim += 1
            elif piece and piece in text and len(text) - len(piece) <= 2 * 4096:
                repeated += 1
            else:
                bad(path, c['seq'], f'[{s},{e}) does not give the text')
            if c['line_start'] != data.count(b'\n', 0, s) + 1 or \
                    c['line_end'] != data.count(b'\n', 0, max(e - 1, s)) + 1:
                bad(path, c['seq'], 'wrong line numbers')
            for h in c['heading']:
                if FM_KEY.match(h) or '\n' in h:
                    bad(path, c['seq'], f'front matter in the heading path: {h[:40]!r}')
            t = c['text'].strip()
            if '\n' not in t and HEADING.match(t):
                bad(path, c['seq'], f'a heading alone: {t[:40]!r}')
            for a, b in fences:
                if a < s < b:
                    # Allowed only as a piece of a block larger than the cap:
                    # with the fence repeated, or (a fenced block nested in a
                    # list or quote) right after the previous piece.
                    if not FENCE.match(text) and s < prev_end:
                        bad(path, c['seq'], 'starts inside a fenced block')
                    elif not FENCE.match(text):
                        nested += 1
                    break
            prev_end = e
    print(f'docs {docs} chunks {chunks} verbatim {verbatim} repeated {repeated} '
          f'nested-pieces {nested} problems {problems}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
