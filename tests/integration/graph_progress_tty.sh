#!/bin/bash
# docpipe run --progress tty on a terminal (README, "Progress"): every
# message of the run's processes -- the supervisor's own, a replica's, the
# hub's -- is shown whole above the progress display, which the hub
# draws again over itself every 0.5 s, once each, in the order written,
# and the display's final drawing stays below them with nothing of an
# older drawing left.  (Before, a message written between two drawings
# was drawn over by the next one.)  The run is a --watch run on a
# pseudo-terminal: the messages come after the display is up (files with
# broken front matter, which chunk names and keeps as text, created once
# the first pass is over; the run's recorder's, its database connection
# cut), and SIGTERM stops it (its messages too).  Then
# a run whose hub dies (SIGKILL) holding a message it did not show: the
# supervisor shows it, once (none lost when the hub dies).  The raw
# terminal output is rendered with a small terminal model.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

D=$T_DIR/docs
numbered_docs "$D" 4 5 doc

# tty_run CASE: runs the case of the script below on a pseudo-terminal;
# its screen, rendered, in $T_DIR/screen.CASE; prints "STATE STATUS".
tty_run() {
	env "$(tag_env tty)" python3 - "$1" "$D" "$T_DIR" <<'PY'
import os, pty, re, select, signal, struct, subprocess, sys, termios, fcntl, time

case, docs, tdir = sys.argv[1:4]
master, slave = pty.openpty()
# Tall: the model does not scroll; it does not wrap either, so the second
# case's 60 columns show whether the display cut its lines to fit.
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 500, 60 if case == "died" else 400, 0, 0))
with open(os.path.join(tdir, "report"), "w") as report:
    p = subprocess.Popen(["docpipe", "run", docs, "--watch", "--progress", "tty"],
                         stdin=subprocess.DEVNULL, stdout=report, stderr=slave,
                         start_new_session=True)
os.close(slave)
raw = bytearray()

def pump(seconds):
    """Reads what the terminal got for up to seconds; False at its end."""
    r, _, _ = select.select([master], [], [], seconds)
    if not r:
        return True
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO: every writer closed it
        return False
    raw.extend(data)
    return bool(data)

def render(data):
    """The screen after data: \r, \n, ESC[K, ESC[nA, ESC[J (the hub's)."""
    rows, row, col = [[]], 0, 0
    for m in re.finditer(r"\x1b\[(\d*)([A-Za-z])|(.)", data.decode("utf-8", "replace"), re.S):
        num, op, ch = m.groups()
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
        elif ch is not None:
            while row >= len(rows):
                rows.append([])
            line = rows[row]
            line.extend(" " * (col - len(line)))
            line[col:col + 1] = [ch]
            col += 1
        elif op == "A":
            row = max(0, row - int(num or 1))
        elif op in "KJ":
            if row < len(rows):
                del rows[row][col:]
            if op == "J":
                del rows[row + 1:]
        while row >= len(rows):
            rows.append([])
    return ["".join(r).rstrip() for r in rows]

def wait_screen(regex, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for l in render(raw):
            m = re.search(regex, l)
            if m:
                return m
        if not pump(0.2):
            break
    print("# waited in vain for", regex)
    return None

def until(cond, seconds):
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline:
        pump(0.2)
    return cond()

def stored():
    q = "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/bad_.md'"
    return subprocess.run(["psql", "-X", "-A", "-t", "-c", q], capture_output=True,
                          text=True).stdout.strip() == "2"

def pid_of(comm):
    """The pid of this run's process comm (found by its tag), or None."""
    tag = ("DOCPIPE_TEST_TAG=" + os.environ["DOCPIPE_TEST_TAG"]).encode()
    for d in os.listdir("/proc"):
        try:
            if (d.isdigit() and open("/proc/%s/comm" % d).read().strip() == comm
                    and tag in open("/proc/%s/environ" % d, "rb").read().split(b"\0")):
                return int(d)
        except OSError:
            pass
    return None

state = "ok"
hub = wait_screen(r"first pass complete", 60) and wait_screen(r"hub on .* \(pid (\d+)\)", 1)
if not hub:
    state = "no first pass"
elif case == "stop":
    # The recorder's messages while the display is redrawn: its
    # connection cut, it says the claim on the roots is lost, then renewed
    # (written to the terminal, they were drawn over).
    subprocess.run(["psql", "-X", "-q", "-c", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'docpipe-status' AND datname = current_database()"],
                   capture_output=True)
    if not wait_screen(r"claim on its roots is renewed", 60):
        state = "no renewed claim shown"
    # Messages while the display is redrawn: chunk names each of these
    # files (kept as text).  Both stored, then every document sent has
    # its receipt on the display (watch's first pass sends the 4 files
    # again: counted, not assumed); then SIGTERM.
    for name in ("bad1", "bad2"):
        with open(os.path.join(docs, name + ".md"), "w") as f:
            f.write("---\ntitle: %s\n\n# Heading\n\nbroken front matter words\n" % name)
    if not until(stored, 60):
        state = "bad files not stored"
    elif not wait_screen(r"^documents (\d+)/\1\+? done, 0 in flight", 60):
        state = "bad files not done"
    p.send_signal(signal.SIGTERM)
else:
    # The hub dies with a message it did not show: held (SIGSTOP), it
    # cannot show the supervisor's line on a replica killed meanwhile;
    # then SIGKILL.
    # Held only once the display is drawn below the first pass's line:
    # a hub held between printing lines and counting them in
    # messages.shown shows them twice (relay.h), which this does not test.
    def drawn_below():
        lines = render(raw)
        first = [i for i, l in enumerate(lines) if "first pass complete" in l]
        return first and any(l.startswith("documents ") for l in lines[first[0]:])
    if not until(drawn_below, 60):
        state = "no drawing after the first pass"
    hub, chunk = int(hub.group(1)), pid_of("docpipe-chunk")
    if chunk is None:
        state = "no chunk replica"
        p.send_signal(signal.SIGTERM)
    else:
        os.kill(hub, signal.SIGSTOP)
        os.kill(chunk, signal.SIGKILL)
        # The supervisor said it before it restarted the replica.
        if not until(lambda: pid_of("docpipe-chunk") not in (None, chunk), 60):
            state = "chunk not restarted"
        os.kill(hub, signal.SIGKILL)
deadline = time.monotonic() + 60
while p.poll() is None and time.monotonic() < deadline:
    pump(0.2)
if p.poll() is None:
    p.kill()
    state = "no exit"
while pump(0.5):
    pass
with open(os.path.join(tdir, "screen." + case), "w") as f:
    f.write("\n".join(render(raw)) + "\n")
print(state, p.wait())
PY
}

res=$(tty_run stop)
is "$(tail -1 <<<"$res")" "ok 0" "the run shows its first pass, then the new files done, and stops with status 0 at SIGTERM"
S=$T_DIR/screen.stop
# drawings SCREEN: the display's lines on SCREEN are those of one drawing,
# its last: none is left of an earlier one.
drawings() {
	is "$(grep -cE '^((chunk|summarize|embed|store) +[0-9]+ procs  done|documents [0-9]+/)' "$1")" 5 \
		"nothing of an earlier drawing is left"
}
# once REGEX NAME: exactly one line of the final screen matches REGEX.
once() { is "$(grep -cE -- "$1" "$S")" 1 "$2"; }
once "^docpipe: run [^ ]+: hub on ipc://[^ ]+/docpipe-run\.[^ /]+ \(pid [0-9]+\)\$" \
	"the supervisor's first line is there, whole"
once "^docpipe-hub: first pass complete: 4 documents .*; watching for changes\$" \
	"the hub's own message is there, whole"
for b in bad1 bad2; do
	once "^docpipe-chunk: $D/$b\.md: front matter without its closing line; kept as text\$" \
		"chunk's message on $b.md, written while the display is redrawn, is there, whole"
done
once "^docpipe-status: the database connection was lost while the run went on: its claim on its roots is gone until the connection is made again\$" \
	"the recorder's message on its lost connection is there, whole"
once "^docpipe-status: the connection is made again: this run's claim on its roots is renewed\$" \
	"and its message on the claim renewed"
once "^docpipe: stopping \(signal\): every process gets 15s to finish\$" \
	"the supervisor's line at SIGTERM, while the hub still draws, is there, whole"
once "^documents ([0-9]+)/\1\+? done, 0 in flight" "the display's final drawing is there, once"
for st in chunk summarize embed store; do
	once "^$st +[0-9]+ procs  done +[0-9]+ " "its $st line too, once"
done
msg=$(grep -nE "^docpipe-chunk: $D/bad2" "$S" | cut -d: -f1)
stop=$(grep -nE "^docpipe: stopping" "$S" | cut -d: -f1)
block=$(grep -nE "^chunk +[0-9]+ procs" "$S" | cut -d: -f1)
ok $([ "${msg:-0}" -gt 0 ] && [ "${msg:-0}" -lt "${stop:-0}" ] && [ "${stop:-0}" -lt "${block:-0}" ]; echo $?) \
	"in the order written, above the final drawing"
drawings "$S"
is "$(tagged tty)" "" "no process of the run is left"
[ "$T_FAILED" = 0 ] || { sed 's/^/# /' <<<"$res"; sed 's/^/# screen: /' "$S"; }

# The hub dies (SIGKILL) with a message it held: the supervisor shows it,
# and its own lines after.
failed=$T_FAILED
rm "$D"/bad?.md
res=$(tty_run died)
is "$(tail -1 <<<"$res")" "ok 3" "a run whose hub died ends with status 3"
S=$T_DIR/screen.died
once "^docpipe: chunk-1 \\(pid [0-9]+\\) exited with status 137; restarting it\$" \
	"the line the hub held when it died is shown, whole, once"
once "^docpipe: the hub died \\(signal 9\\): run interrupted, nothing swept\$" \
	"and the supervisor's after it"
drawings "$S"
is "$(grep -E '^((chunk|summarize|embed|store) +[0-9]+ procs|documents [0-9]+/)' "$S" | awk 'length > 59' | wc -l)" 0 \
	"on a terminal of 60 columns, the display's lines are cut to 59 (a wrapped line made each drawing land a row lower)"
is "$(tagged tty)" "" "no process of the run is left"
[ "$T_FAILED" = "$failed" ] || { sed 's/^/# /' <<<"$res"; sed 's/^/# screen: /' "$S"; }
done_testing
