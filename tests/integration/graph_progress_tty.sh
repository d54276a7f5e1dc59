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
# the first pass is over), and SIGTERM stops it (its messages too).  The
# raw terminal output is rendered with a small terminal model.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

D=$T_DIR/docs
numbered_docs "$D" 4 5 doc

res=$(env "$(tag_env tty)" /usr/bin/python3 - "$D" "$T_DIR" <<'PY'
import os, pty, re, select, signal, struct, subprocess, sys, termios, fcntl, time

docs, tdir = sys.argv[1], sys.argv[2]
master, slave = pty.openpty()
# Wide and tall: the model neither wraps nor scrolls.
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 500, 400, 0, 0))
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
            line = rows[row] if row < len(rows) else None
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
        if any(re.search(regex, l) for l in render(raw)):
            return True
        if not pump(0.2):
            break
    print("# waited in vain for", regex)
    return False

state = "ok"
if not wait_screen(r"first pass complete", 60):
    state = "no first pass"
for name in ("bad1", "bad2"):
    with open(os.path.join(docs, name + ".md"), "w") as f:
        f.write("---\ntitle: %s\n\n# Heading\n\nbroken front matter words\n" % name)
def stored():
    q = "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%/bad_.md'"
    return subprocess.run(["psql", "-X", "-A", "-t", "-c", q], capture_output=True,
                          text=True).stdout.strip() == "2"
# Both stored, then every document sent has its receipt on the display
# (watch's first pass sends the 4 files again: counted, not assumed).
deadline = time.monotonic() + 60
while state == "ok" and not stored() and time.monotonic() < deadline:
    pump(0.2)
if state == "ok" and not wait_screen(r"^documents (\d+)/\1\+? done, 0 in flight", 60):
    state = "bad files not done"
p.send_signal(signal.SIGTERM)
deadline = time.monotonic() + 60
while p.poll() is None and time.monotonic() < deadline:
    pump(0.2)
if p.poll() is None:
    p.kill()
    state = "no exit"
while pump(0.5):
    pass
with open(os.path.join(tdir, "raw"), "wb") as f:
    f.write(raw)
with open(os.path.join(tdir, "screen"), "w") as f:
    f.write("\n".join(render(raw)) + "\n")
print(state, p.wait())
PY
)
is "$(tail -1 <<<"$res")" "ok 0" "the run shows its first pass, then the new files done, and stops with status 0 at SIGTERM"
S=$T_DIR/screen
# once REGEX NAME: exactly one line of the final screen matches REGEX.
once() { is "$(grep -cE -- "$1" "$S")" 1 "$2"; }
once "^docpipe: run [^ ]+: hub on tcp://127\.0\.0\.1:[0-9]+ \(pid [0-9]+\)\$" \
	"the supervisor's first line is there, whole"
once "^docpipe-hub: first pass complete: 4 documents .*; watching for changes\$" \
	"the hub's own message is there, whole"
for b in bad1 bad2; do
	once "^docpipe-chunk: $D/$b\.md: front matter without its closing line; kept as text\$" \
		"chunk's message on $b.md, written while the display is redrawn, is there, whole"
done
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
is "$(grep -v '^$' "$S" | sort | uniq -d)" "" "no line shows twice"
is "$(tagged tty)" "" "no process of the run is left"
[ "$T_FAILED" = 0 ] || { sed 's/^/# /' <<<"$res"; sed 's/^/# screen: /' "$S"; }
done_testing
