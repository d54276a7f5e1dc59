#!/bin/bash
# A file name with terminal control sequences (ESC ] 0 ; ... BEL sets the
# terminal's title, ESC [ 2 J clears it) reaches the terminal escaped
# (\x1b), in every stage's messages (dp_diag) and in docpipe status's
# report (dp_put_shown), as docpipe-query's results already were.  Before,
# the hub's "failed:" line, chunk's messages and status's failures list
# carried the bytes raw.  A bidi override (U+202E: the rest of the name
# read backwards) is shown escaped too (\u202e; fault sweep 21b).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
mkdir -p "$D"
bad=$'x\e]0;PWNED\a\e[2J\xe2\x80\xaegpj.md'
printf '# ok\n\nfine.\n' >"$D/ok.md"
printf '# bad \xff\n' >"$D/$bad"
printf -- '---\ntitle: t\n# red\n' >"$D/"$'y\e[31mred.md'
docpipe run "$D" --progress none >"$T_DIR/report" 2>"$T_DIR/err"
is "$?" 1 "the run: two files failed"
raw() { grep -c $'\e\|\xe2\x80\xae' "$1"; }
is "$(raw "$T_DIR/err")" 0 "no escape byte in the run's messages"
like "$(cat "$T_DIR/err")" 'y\\x1b\[31mred\.md: front matter' "chunk's message shows the name escaped"
docpipe status >"$T_DIR/status" 2>&1
is "$?/$(raw "$T_DIR/status")" "0/0" "no escape byte in docpipe status's report"
like "$(cat "$T_DIR/status")" 'x\\x1b\]0;PWNED\\x07\\x1b\[2J\\u202egpj\.md' "its failures list shows the name escaped"
done_testing
