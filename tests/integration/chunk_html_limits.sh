#!/bin/bash
# HTML past libxml2's default limits (256 levels of nesting, a 10 MB text
# node) is converted whole; past docpipe's own depth limit it fails with an
# error record naming the file, and the run goes on.  libxml2 used to stop
# at those limits and its partial tree passed for the whole document.
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
EOF

docpipe-discover "$D" >"$T_DIR/files" 2>/dev/null
for threads in 1 2; do
	docpipe-chunk --threads $threads <"$T_DIR/files" >"$T_DIR/out" 2>"$T_DIR/err"
	is "$?" 1 "--threads $threads: exit 1, one document failed"
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
	is "$(cat "$T_DIR/err")" "" "nothing on stderr"
done

done_testing
