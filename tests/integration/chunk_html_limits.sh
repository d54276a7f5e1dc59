#!/bin/bash
# HTML past libxml2's default limits (256 levels of nesting, a 10 MB text
# node) is converted whole; past docpipe's own depth limit, or where the
# parser stops before the end (a NUL byte, bytes its declared charset cannot
# convert), it fails with an error record naming the file, and the run goes
# on.  libxml2 used to stop there and its partial tree passed for the whole
# document.  Recoverable errors (unclosed tags, unknown entities, Latin-1
# bytes in undeclared UTF-8) do not fail a document.
. "$(dirname "$0")/../lib/tap.sh"

D=$T_DIR/html
mkdir -p "$D"
python3 - "$D" <<'EOF'
import sys
d = sys.argv[1]
# Legacy pages leave <div>/<font> open: 400 levels.
open(d + "/a-divs.html", "w").write("<html><body><h1>Old page</h1>" +
    "".join("<div class=x><font><span>entry %d</span>\n" % i for i in range(400)) +
    "<p>the end</p></body></html>")
# A log in one <pre>: 11 MB of text in one node.
open(d + "/b-log.html", "w").write("<html><body><pre>" +
    "\n".join("line %d of the log" % i for i in range(500000)) +
    "</pre><p>after the log</p></body></html>")
# Deeper than docpipe's limit (CONV_HTML_MAX_DEPTH, 2048).
open(d + "/c-deep.html", "w").write("<html><body>" +
    "".join("<div>%d\n" % i for i in range(3000)) + "</body></html>")
open(d + "/d-fine.html", "w").write("<p>a fine page</p>")
# A NUL in text is read as a space, between tags it ends the parse.
open(d + "/e-nul.html", "wb").write(b"<p>a\0b</p>\n<p>x</p>\0<p>after the NUL</p>")
open(d + "/f-sjis.html", "wb").write(b'<meta charset="shift_jis"><p>ok \x82\xa0</p>\n'
    b"<p>bad \xff\xff here</p><p>after the bad bytes</p>")
open(d + "/g-sloppy.html", "wb").write(b"<table><tr><td>caf\xe9 &bogus; <b>bold<i>both</b>"
    b"</td><p>unclosed<li>stray</table><p>the end")
# NUL bytes after the last tag: nothing is lost.
open(d + "/h-padded.html", "wb").write(b"<p>padded</p>\n\0\0\0")
EOF

docpipe-discover "$D" >"$T_DIR/files" 2>/dev/null
for threads in 1 2; do
	docpipe-chunk --threads $threads <"$T_DIR/files" >"$T_DIR/out" 2>"$T_DIR/err"
	is "$?" 1 "--threads $threads: exit 1, documents failed"
	rec() { jq -c --arg p "$D/$1" "select(.path == \$p) | $2" "$T_DIR/out"; }
	# The chunks' texts, each followed by a blank line, into a file (jq 1.6's
	# join and a command substitution of 11 MB each take half a minute).
	text() { jq -j --arg p "$D/$1" 'select(.path == $p) | .chunks[] | .text, "\n\n"' "$T_DIR/out" >"$T_DIR/$1.txt"; }
	is "$(rec a-divs.html '[.kind, .error]')" '["document",null]' "400 unclosed divs: a document"
	text a-divs.html
	is "$(grep -c '^entry [0-9]*$' "$T_DIR/a-divs.html.txt")" 400 "... with every entry"
	is "$(tail -n 4 "$T_DIR/a-divs.html.txt")" $'entry 399\n\nthe end' "... to the end"
	is "$(rec b-log.html '[.kind, .error]')" '["document",null]' "an 11 MB <pre>: a document"
	text b-log.html
	is "$(tail -n 5 "$T_DIR/b-log.html.txt")" $'line 499999 of the log\n```\n\nafter the log' "... whole, with what follows it"
	is "$(rec c-deep.html '[.kind, .error]')" '["error","HTML nested deeper than 2048 levels"]' \
		"3000 levels: an error record naming the file"
	is "$(rec d-fine.html '[.kind, .chunks[0].text]')" '["document","a fine page"]' "the run goes on"
	is "$(rec e-nul.html '[.kind, .error]')" '["error","NUL byte on line 2 of the HTML: the parser reads no further"]' \
		"a NUL byte before the end: an error record"
	is "$(rec f-sjis.html '[.kind, .error]')" \
		'["error","HTML not valid in its charset SHIFT-JIS on line 2: input conversion failed due to input error, bytes 0xFF 0xFF 0x20 0x68"]' \
		"bytes the declared charset cannot convert: an error record"
	is "$(rec g-sloppy.html '[.kind, .chunks[].text]')" \
		'["document","café &bogus; boldboth\n\nunclosed\n\nstray\n\nthe end"]' "recoverable errors: the whole document"
	is "$(rec h-padded.html '[.kind, .chunks[0].text]')" '["document","padded"]' "NUL bytes at the end only: a document"
	is "$(cat "$T_DIR/err")" "" "nothing on stderr"
done

done_testing
