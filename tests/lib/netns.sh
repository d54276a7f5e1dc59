# Other machines for the graph's workers (sourced after tap.sh): each a
# network namespace behind a router (a namespace of its own, joined to
# this one and to each machine by veth pairs), its processes in a pid and
# UTS namespace of their own (the hub then cannot see or kill them, as on
# another machine; its host name is its own).  Needs root, ip(8) and
# unshare(1); netns_check skips the test cleanly without them.
#
#   netns_check                 skip (and end the test) when namespaces cannot be made
#   netns_machine I             makes machine I (1..8): namespace NETNS_NS[I] at
#                               WORKER_ADDR[I]; it reaches this one at HUB_ADDR[I]
#   netns_exec I HOST CMD...    runs CMD on machine I, host name HOST, pid 1 of its
#                               own pid namespace (a worker, a test server); with
#                               NETNS_CLOCK=S its monotonic and boot clocks S s ahead
#   netns_partition I / netns_heal I
#                               the router drops every packet between here and
#                               machine I, both ways, and says nothing / forwards again
#   netns_gone I                machine I lost for good: partitioned, its worker and
#                               test server killed (nothing they send gets out), its
#                               namespace deleted
# Everything is undone at exit (at_exit), the machines' workers killed.
#
# The router drops, not the machines' own stacks: a blackhole route on the
# sender fails a new connection at once (EINVAL), and a packet its own
# qdisc drops is sent again every 0.5 s (local congestion), which no
# partition does: a lost packet is retried on TCP's doubling timers.
NETNS_R=
NETNS_ROUTER=dpn$$r NETNS_UPLINK=dpn$$u
NETNS_NS=() HUB_ADDR=() WORKER_ADDR=()

netns_check() {
	local probe=dpnp$$
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null ||
		! ip netns add "$probe" 2>/dev/null; then
		skip "network namespaces need root, ip(8) and unshare(1)"
		done_testing
	fi
	ip netns del "$probe"
	at_exit netns_cleanup
	netns_router || { skip "no veth pair between network namespaces here"; done_testing; }
}

# The router and its link to this namespace, on a network 10.R.0.0/16 no
# other test uses (picked under a lock: tests run beside each other).
netns_router() {
	local lock rc=1 r=(ip netns exec "$NETNS_ROUTER")
	exec {lock}>/tmp/docpipe-test-netns.lock && flock "$lock" || return 1
	for _ in $(seq 50); do
		NETNS_R=$((RANDOM % 200 + 20))
		ip route show | grep -q "^10\.$NETNS_R\." || { rc=0; break; }
	done
	local net=10.$NETNS_R.0
	[ $rc = 0 ] && ip netns add "$NETNS_ROUTER" && ip link add "$NETNS_UPLINK" type veth peer name "${NETNS_UPLINK}b" &&
		ip link set "${NETNS_UPLINK}b" netns "$NETNS_ROUTER" && ip addr add "$net.1/24" dev "$NETNS_UPLINK" &&
		ip link set "$NETNS_UPLINK" up && "${r[@]}" ip addr add "$net.2/24" dev "${NETNS_UPLINK}b" &&
		"${r[@]}" ip link set "${NETNS_UPLINK}b" up && "${r[@]}" sysctl -qw net.ipv4.ip_forward=1 &&
		ip route add "10.$NETNS_R.0.0/16" via "$net.2"
	rc=$?
	exec {lock}>&-
	return $rc
}

netns_machine() {
	local i=$1 ns=dpn$$m$1 va=dpn$$m$1a vb=dpn$$m$1b net=10.$NETNS_R.$1
	NETNS_NS[i]=$ns HUB_ADDR[i]=10.$NETNS_R.0.1 WORKER_ADDR[i]=$net.2
	ip netns add "$ns" && ip link add "$va" type veth peer name "$vb" &&
		ip link set "$va" netns "$NETNS_ROUTER" && ip link set "$vb" netns "$ns" &&
		ip netns exec "$NETNS_ROUTER" ip addr add "$net.1/24" dev "$va" &&
		ip netns exec "$NETNS_ROUTER" ip link set "$va" up &&
		ip netns exec "$ns" ip addr add "$net.2/24" dev "$vb" && ip netns exec "$ns" ip link set "$vb" up &&
		ip netns exec "$ns" ip link set lo up && ip netns exec "$ns" ip route add default via "$net.1"
}

# The environment passes through (tag_env's tag: tagged finds the
# machine's processes from here).
netns_exec() {
	local i=$1 host=$2 clock=()
	shift 2
	[ -n "${NETNS_CLOCK:-}" ] && clock=(-T --monotonic "$NETNS_CLOCK" --boottime "$NETNS_CLOCK")
	ip netns exec "${NETNS_NS[i]}" unshare -upf "${clock[@]}" --mount-proc --kill-child \
		bash -c 'hostname "$0" && exec "$@"' "$host" "$@"
}

# Forwarded packets to a blackhole route, or from a source whose rule
# says blackhole, vanish without an ICMP error.
netns_partition() {
	ip netns exec "$NETNS_ROUTER" ip route add blackhole "${WORKER_ADDR[$1]}/32" &&
		ip netns exec "$NETNS_ROUTER" ip rule add from "${WORKER_ADDR[$1]}" blackhole
}
netns_heal() {
	ip netns exec "$NETNS_ROUTER" ip route del blackhole "${WORKER_ADDR[$1]}/32"
	ip netns exec "$NETNS_ROUTER" ip rule del from "${WORKER_ADDR[$1]}" blackhole
}

netns_gone() {
	netns_partition "$1"
	netns_worker_kill "$1"
	[ -n "${API_PID[$1]:-}" ] && kill -9 "${API_PID[$1]}" 2>/dev/null
	ip netns del "${NETNS_NS[$1]}"
	NETNS_NS[$1]=
}

netns_cleanup() {
	local i
	for i in "${!NETNS_NS[@]}"; do
		[ -n "${NETNS_NS[i]}" ] || continue
		netns_worker_kill "$i"
		ip netns del "${NETNS_NS[i]}" 2>/dev/null
	done
	[ -n "$NETNS_R" ] && ip route del "10.$NETNS_R.0.0/16" 2>/dev/null
	ip link del "$NETNS_UPLINK" 2>/dev/null
	ip netns del "$NETNS_ROUTER" 2>/dev/null
	return 0
}

# The graph over these machines: CurveZMQ keys as a user makes them
# (docpipe keygen; $NETNS_KEYS/hub.key, w1..w4, the hub's --allow list
# $NETNS_KEYS/allowed), a test server on each machine (its own loopback:
# the model API each machine reaches on its own), `docpipe worker` there.
netns_keys() {
	local k
	NETNS_KEYS=$T_DIR/keys
	mkdir -p "$NETNS_KEYS"
	for k in hub w1 w2 w3 w4; do docpipe keygen "$NETNS_KEYS/$k" 2>/dev/null || return 1; done
	cat "$NETNS_KEYS"/w?.pub >"$NETNS_KEYS/allowed"
}
# netns_api I FAKEAPI-ARGS...: tests/fakeapi.py on machine I, its port in API_PORT[I].
API_PORT=() API_PID=()
netns_api() {
	local i=$1 _ port
	shift
	netns_exec "$i" "api$i" python3 "$TOP/tests/fakeapi.py" --port 0 "$@" >"$T_DIR/api$i.port" 2>/dev/null &
	SERVERS+=("$!")
	API_PID[i]=$!
	disown # its kill -9 (netns_gone) is no news
	wait_for 30 test -s "$T_DIR/api$i.port" || return 1
	read -r _ port _ <"$T_DIR/api$i.port"
	API_PORT[i]=$port
}
# netns_api_requests I ENDPOINT: how many requests machine I's server got.
netns_api_requests() {
	ip netns exec "${NETNS_NS[$1]}" curl -sf "http://127.0.0.1:${API_PORT[$1]}/_stats" | jq -r ".requests.$2"
}
# netns_worker I HOST STAGE [STAGE-OPTION...]: `docpipe worker STAGE` on
# machine I (host name HOST, key wI, 2 threads) connecting to the hub's
# --listen on port $PORT, its test server as model API; its processes
# tagged wI, its stderr appended to $T_DIR/workerI.err.
netns_worker() {
	local i=$1 host=$2 stage=$3
	shift 3
	(
		export "$(tag_env "w$i")" OPENAI_BASE_URL="http://127.0.0.1:${API_PORT[i]}/v1"
		netns_exec "$i" "$host" docpipe worker "$stage" --connect "${HUB_ADDR[i]}:$PORT" \
			--curve-server "$NETNS_KEYS/hub.pub" --curve-key "$NETNS_KEYS/w$i.key" --threads 2 \
			-- "$@" 2>>"$T_DIR/worker$i.err"
	) &
	disown # its kill -9 (netns_gone, netns_worker_kill) is no news
}
# netns_worker_kill I: kill -9 of every process of machine I's worker.
netns_worker_kill() {
	local p
	for p in $(tagged "w$1"); do kill -9 "$p" 2>/dev/null; done
}

# netns_run [RUN-OPTION...]: `docpipe run $T_DIR/docs` for the machines'
# workers (listen_run: --listen 0.0.0.0:$PORT, CurveZMQ with the keys
# above, no summarize replica of its own, the openai backend, --timeout
# 60), its pid in SUP, its report and stderr in $T_DIR; status 1 when it
# did not listen.
NETNS_RUN_OPTS=()
netns_start_run() {
	docpipe run "$T_DIR/docs" --listen "0.0.0.0:$PORT" --curve-secret "$NETNS_KEYS/hub.key" \
		--allow "$NETNS_KEYS/allowed" --replicas summarize=0 --opt summarize=--backend=openai \
		--timeout 60 --progress none "${NETNS_RUN_OPTS[@]}" >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
netns_run() {
	NETNS_RUN_OPTS=("$@")
	listen_run 9 netns_start_run
}
# netns_run_ends SECONDS EVENT N: the run ends within SECONDS of EVENT
# (now), with status 0 and N documents added, none failed, none stored
# twice or half-written (two checks).
netns_run_ends() {
	local limit=$1 event=$2 n=$3 since=${EPOCHREALTIME/./} rc
	wait_for "$limit" exited $SUP || { kill -TERM $SUP; diag "the run did not end within $limit s of $event"; }
	wait $SUP
	rc=$?
	diag "the run ended $(((${EPOCHREALTIME/./} - since) / 1000)) ms after $event"
	is "$rc:$(jq -r '[.added, .failed] | @tsv' "$T_DIR/report" 2>/dev/null)" "0:$(printf '%s\t0' "$n")" \
		"exit 0 within $limit s of $event (not after --timeout 60), every document stored, none failed"
	is "$(sql "SELECT count(*) - count(DISTINCT path) FROM docpipe.documents") $(sql "SELECT count(*)
		FROM docpipe.documents d WHERE chunk_count <> (SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id)")" \
		"0 0" "no document twice, none half-written"
}
# netns_graph MACHINES N CHAT-MS: what a test of the graph across machines
# starts with: its database (newdb), N files in $T_DIR/docs, the keys,
# machines 1..MACHINES each with a test server answering chat in CHAT-MS;
# ends the test when one cannot be made.
netns_graph() {
	local i
	unset OPENAI_API_KEY
	newdb || exit 1
	numbered_docs "$T_DIR/docs" "$2" 300 doc
	netns_keys || { ok 1 "docpipe keygen"; done_testing; }
	for i in $(seq "$1"); do
		netns_machine "$i" || { skip "no veth pair between network namespaces here"; done_testing; }
		netns_api "$i" --latency chat="$3" || { ok 1 "a test server on machine $i"; done_testing; }
	done
}
# netns_done: done_testing, the run's stderr shown first when a check failed.
netns_done() {
	[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
	done_testing
}
