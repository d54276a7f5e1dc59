#!/bin/bash
# A CurveZMQ key file that is missing, unreadable or malformed is a usage
# error (exit 2) naming the option, the file and what is wrong, said before
# anything starts (docpipe(1), docpipe-hub(1), docpipe-chunk(1) EXIT
# STATUS): for every option that takes one -- a stage's --curve-server and
# --curve-key, the hub's --curve-secret and --allow, the same options of
# `docpipe worker` and `docpipe run`.  Before, the stage and the hub exited
# 3, which the supervisor restarts: a worker started its replica 6 times
# over 27 s and gave up with "exited 5 times within 60s"; `docpipe run`
# said "cat: ...", exited 3, or with a malformed --allow ran with a hub
# that refused every worker.
. "$(dirname "$0")/../lib/tap.sh"

K=$T_DIR/keys
mkdir -p "$K" "$T_DIR/docs" "$T_DIR/tmp"
printf '# One\n\nbody\n' >"$T_DIR/docs/one.md"
docpipe keygen "$K/hub" 2>/dev/null && docpipe keygen "$K/w" 2>/dev/null
ok $? "key pairs written"
printf 'this is not a key file\n' >"$K/garbage"
printf '# docpipe CurveZMQ public key\npublic = tooshort\n' >"$K/short.pub"
printf '# only comments\n\n' >"$K/comments"
mkdir "$K/dir.key"
PORT=$(free_ports 9) || exit 1
NOTHING=tcp://127.0.0.1:$PORT # nobody listens there

# refused WHAT WANT-REGEX COMMAND...: COMMAND exits 2 within 10 s (a
# command that goes on is stopped then: 124) and its stderr matches.
refused() {
	local what=$1 want=$2 rc
	shift 2
	timeout 10 "$@" </dev/null >"$T_DIR/out" 2>"$T_DIR/err"
	rc=$?
	is "$rc" 2 "$what: exit 2"
	like "$(cat "$T_DIR/err")" "$want" "... saying $(sed 's/\\//g' <<<"$want" | cut -c1-70)"
}
missing='No such file or directory'
notakey='line 1 is not a key \("public = " or "secret = " and 40 Z85 characters'

# The cases, one a line: WHO|WHAT|WANT|ARGS|AFTER.  WHO: the command (chunk
# and store: a stage reading $NOTHING; hub; worker: `docpipe worker chunk`;
# run: `docpipe run` with TMPDIR of the test's own); WANT: a regex its
# stderr must match; ARGS: split on spaces (no path here holds one); AFTER:
# norep (the worker started no replica), nothing (the run started no hub
# and made no run directory), once (the replica ran once).  A bad key the stage itself reads (after --)
# stops the worker at the replica's first exit, not restarted.
W=(docpipe worker chunk --connect "127.0.0.1:$PORT")
R=(env TMPDIR="$T_DIR/tmp" docpipe run "$T_DIR/docs" --progress none)
started() { grep -q 'hub on' "$T_DIR/err" || [ -n "$(ls "$T_DIR/tmp")" ]; }
while IFS='|' read -r who what want args after; do
	case $who in
	chunk | store) cmd=("docpipe-$who" --in "$NOTHING") ;;
	hub) cmd=(docpipe-hub --run t --listen "tcp://127.0.0.1:$PORT") ;;
	worker) cmd=("${W[@]}") ;;
	run) cmd=("${R[@]}") ;;
	esac
	# shellcheck disable=SC2086
	refused "$who, $what" "$want" "${cmd[@]}" $args
	case $after in
	norep) ok "$(grep -q 'connecting to' "$T_DIR/err"; echo $((!$?)))" "... and started no replica" ;;
	nothing) ok "$(started; echo $((!$?)))" "... and started nothing (no hub, no run directory)" ;;
	once) is "$(grep -c "curve-key $K/none.key: $missing" "$T_DIR/err")" 1 "... the replica ran once, naming the file" ;;
	esac
done <<EOF
chunk|--curve-server missing|docpipe-chunk: --curve-server $K/none.pub: $missing|--curve-server $K/none.pub --curve-key $K/w.key
chunk|--curve-server malformed|docpipe-chunk: --curve-server $K/garbage: $notakey|--curve-server $K/garbage --curve-key $K/w.key
chunk|--curve-server key too short|--curve-server $K/short.pub: line 2 is not a key|--curve-server $K/short.pub --curve-key $K/w.key
chunk|--curve-server holding no key|--curve-server $K/comments: no public key in this file|--curve-server $K/comments --curve-key $K/w.key
chunk|--curve-server unreadable (a directory)|--curve-server $K/dir.key: Is a directory|--curve-server $K/dir.key --curve-key $K/w.key
chunk|--curve-key missing|docpipe-chunk: --curve-key $K/none.key: $missing|--curve-server $K/hub.pub --curve-key $K/none.key
chunk|--curve-key unreadable (a directory)|--curve-key $K/dir.key: Is a directory|--curve-server $K/hub.pub --curve-key $K/dir.key
chunk|--curve-key a public key file|--curve-key $K/w.pub: no secret key in this file|--curve-server $K/hub.pub --curve-key $K/w.pub
chunk|--curve-key without --curve-server|--curve-key needs --curve-server|--curve-key $K/w.key
store|--curve-key missing|docpipe-store: --curve-key $K/none.key: $missing|--curve-server $K/hub.pub --curve-key $K/none.key
hub|--curve-secret missing|docpipe-hub: --curve-secret $K/none.key: $missing|--curve-secret $K/none.key --allow $K/w.pub
hub|--curve-secret malformed|--curve-secret $K/garbage: $notakey|--curve-secret $K/garbage --allow $K/w.pub
hub|--curve-secret a public key file|--curve-secret $K/hub.pub: no secret key in this file|--curve-secret $K/hub.pub --allow $K/w.pub
hub|--allow missing|docpipe-hub: --allow $K/none.pub: $missing|--curve-secret $K/hub.key --allow $K/none.pub
hub|--allow unreadable (a directory)|--allow $K/dir.key: Is a directory|--curve-secret $K/hub.key --allow $K/dir.key
hub|--allow malformed|--allow $K/garbage: $notakey|--curve-secret $K/hub.key --allow $K/garbage
hub|--allow holding no key|--allow $K/comments: no public key in this file: every client would be refused|--curve-secret $K/hub.key --allow $K/comments
worker|--curve-server missing|^docpipe: --curve-server $K/none.pub: $missing|--curve-server $K/none.pub --curve-key $K/w.key|norep
worker|--curve-server malformed|^docpipe: --curve-server $K/short.pub: line 2 is not a key|--curve-server $K/short.pub --curve-key $K/w.key|norep
worker|--curve-key malformed|^docpipe: --curve-key $K/garbage: $notakey|--curve-server $K/hub.pub --curve-key $K/garbage|norep
worker|--curve-key unreadable (a directory)|^docpipe: --curve-key $K/dir.key: Is a directory|--curve-server $K/hub.pub --curve-key $K/dir.key|norep
worker|--curve-key without --curve-server|^docpipe: --curve-key needs --curve-server|--curve-key $K/w.key|norep
worker|the stage's own --curve-key missing (after --)|chunk-1 \(pid [0-9]+\) exited with status 2 \(usage or configuration error\); not restarting it|-- --curve-server $K/hub.pub --curve-key $K/none.key|once
run|--curve-secret missing|^docpipe: --curve-secret $K/none.key: $missing|--curve-secret $K/none.key --allow $K/w.pub|nothing
run|--curve-secret unreadable (a directory)|^docpipe: --curve-secret $K/dir.key: Is a directory|--curve-secret $K/dir.key --allow $K/w.pub|nothing
run|--curve-secret malformed|^docpipe: --curve-secret $K/garbage: $notakey|--curve-secret $K/garbage --allow $K/w.pub|nothing
run|--allow missing|^docpipe: --allow $K/none.pub: $missing|--curve-secret $K/hub.key --allow $K/none.pub|nothing
run|--allow unreadable (a directory)|^docpipe: --allow $K/dir.key: Is a directory|--curve-secret $K/hub.key --allow $K/dir.key|nothing
run|--allow malformed|^docpipe: --allow $K/garbage: $notakey|--curve-secret $K/hub.key --allow $K/garbage|nothing
run|--allow without --curve-secret|^docpipe: --allow needs --curve-secret|--allow $K/w.pub|nothing
EOF
# Without read permission: root reads every file, so as nobody then.
cp "$K/w.key" "$K/locked.key" && chmod 000 "$K/locked.key"
as=()
[ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null &&
	chmod 755 "$T_DIR" "$K" && as=(runuser -u nobody --)
if [ "$(id -u)" != 0 ] || [ ${#as[@]} -gt 0 ]; then
	refused "stage, --curve-key without read permission" "--curve-key $K/locked.key: Permission denied" \
		"${as[@]}" "$DOCPIPE_BIN/docpipe-chunk" --in "$NOTHING" --curve-server "$K/hub.pub" --curve-key "$K/locked.key"
else
	skip "root without a user nobody or runuser: cannot make a file unreadable (the directories stand for it)"
	skip "(its message)"
fi
done_testing
