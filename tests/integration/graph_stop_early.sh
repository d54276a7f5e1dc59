#!/bin/bash
# A stop signal in a run's first moments, each moment made certain (sweep
# 15, docs/RELIABILITY.md: under CPU starvation these are a run's first
# 300 ms and more).  Each run ends with status 5, a report saying
# incomplete when its hub had started, no run directory and no process
# left, and the next run stores every file once.
# 1. While bash still reads the script (a kill injected there): before,
#    bash's default action ended it, status 143.
# 2. While the hub waits for its input, the claim not answered yet (a
#    recorder slowed by 2 s): before session 55 a bash wrapper blocked in
#    the open of the hub's input (its CHILD), and before that fix SIGTERM
#    ended that shell, no hub ever ran: status 5, no report.  Now the hub
#    is bound and waits (--input).  (A signal before the
#    hub's $! was kept, between two commands, is held until it is.)
# 3. SIGTERM to every process at once while the claim waits: the run stops
#    at once (a check of the hub in on_signal took its zombie for alive).
# 4. While the hub is started but has no handler for SIGTERM yet (a hub
#    slowed by 1 s before its exec): before, SIGTERM ended it: no report.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
numbered_docs "$T_DIR/docs" 5 20 note
export TMPDIR=$T_DIR/tmp
mkdir -p "$TMPDIR" "$T_DIR/bin"
for f in "$DOCPIPE_BIN"/docpipe-*; do ln -sf "$(readlink -f "$f")" "$T_DIR/bin/${f##*/}"; done
SCRIPT=$(readlink -f "$(command -v docpipe)")

# stopped_run NAME TEST-LABEL COMMAND...: COMMAND (a docpipe run) is sent
# SIGTERM once the command in $go is true; checks what it left.
stopped_run() {
	local name=$1 label=$2 sup; shift 2
	env "$(tag_env "$name")" "$@" "$T_DIR/docs" --progress none >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	sup=$!
	wait_for 30 eval "$go" || diag "$name: the moment never came"
	kill -TERM $sup
	wait $sup
	is "$?/$(jq -r .complete "$T_DIR/$name.out" 2>/dev/null)" 5/false "$label: status 5, its report says incomplete" ||
		diag "$(cat "$T_DIR/$name.err")"
	is "$(ls -A "$TMPDIR")" "" "$label: no run directory left"
	rm -rf "${TMPDIR:?}"/*
	none_left() { [ -z "$(tagged "$name")" ]; }
	wait_for 20 none_left
	ok $? "$label: no process of the run left"
	# shellcheck disable=SC2046
	kill -9 $(tagged "$name") 2>/dev/null
	docpipe run "$T_DIR/docs" --progress none >"$T_DIR/$name.next" 2>&1
	is "$?/$(sql "SELECT count(*), count(DISTINCT path) FROM docpipe.documents")" "0/5|5" \
		"$label: the next run completes, every file stored once"
	sql "TRUNCATE docpipe.documents CASCADE" >/dev/null
}

# slowed STAGE OPTION MARK SECONDS: $T_DIR/bin/docpipe-STAGE becomes a
# script that, when its arguments hold OPTION, makes the file MARK and
# waits SECONDS before it runs the real binary.  (rm: a write through the
# link would replace the binary itself.)
slowed() {
	rm "$T_DIR/bin/docpipe-$1"
	printf '#!/bin/sh\ncase "$*" in *%s*) : >%s; sleep %s ;; esac\nexec %s "$@"\n' \
		"$2" "$3" "$4" "$(readlink -f "$DOCPIPE_BIN/docpipe-$1")" >"$T_DIR/bin/docpipe-$1"
	chmod +x "$T_DIR/bin/docpipe-$1"
}

# 1. The kill comes where the script's first function begins.
sed '/^# valid_utf8 TEXT/i kill -TERM $$' "$SCRIPT" >"$T_DIR/docpipe-early"
chmod +x "$T_DIR/docpipe-early"
for cmd in run worker; do
	DOCPIPE_BIN=$T_DIR/bin "$T_DIR/docpipe-early" $cmd >/dev/null 2>&1
	st=$?
	[ $cmd = run ] && want=5 || want=0
	is "$st" $want "docpipe $cmd signalled while bash reads the script: status $want (what it gives when stopped)"
done

# 2. The recorder answers the claim 2 s late.
slowed status --claim "$T_DIR/claim.go" 2
# Once the hub is started (its report file made), waiting for its input
# or about to.
go='[ -n "$(find "$TMPDIR" -name report.json)" ]'
stopped_run claim "SIGTERM before the claim is answered" env DOCPIPE_BIN="$T_DIR/bin" docpipe run
rm "$T_DIR/claim.go"

# 3. Every process of the run sent SIGTERM at once (as systemd stops a
# service), the claim still waited for: the hub is dead (it had no handler
# yet, or its wrapper of before), and a check that took its zombie for
# alive (kill -0 in a trap) waited 15 s.
env "$(tag_env all)" DOCPIPE_BIN="$T_DIR/bin" docpipe run "$T_DIR/docs" --progress none >"$T_DIR/all.out" 2>"$T_DIR/all.err" &
sup=$!
wait_for 30 test -e "$T_DIR/claim.go" || diag "all: the moment never came"
sleep 0.3 # the hub waiting for its input
start=$SECONDS
# shellcheck disable=SC2046
kill -TERM $(tagged all)
wait $sup
is "$?" 5 "SIGTERM to every process of the run at once: status 5"
ok $([ $((SECONDS - start)) -lt 8 ] && echo 0 || echo 1) "and it stops at once ($((SECONDS - start)) s)"
is "$(ls -A "$TMPDIR")" "" "no run directory left"
rm "$T_DIR/bin/docpipe-status"
ln -s "$(readlink -f "$DOCPIPE_BIN/docpipe-status")" "$T_DIR/bin/docpipe-status"

# 4. The hub runs 1 s late (discover has started).
slowed hub --endpoints "$T_DIR/hub.go" 1
go='[ -e "$T_DIR/hub.go" ]'
stopped_run hub "SIGTERM before the hub has its handlers" env DOCPIPE_BIN="$T_DIR/bin" docpipe run
done_testing
