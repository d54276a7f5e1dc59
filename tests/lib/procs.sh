# Shell helpers about a run's processes, for the fault suite and the
# benchmarks that measure a run's memory (sourced).

# descendants PID: every process under PID (a run's stages, its hub, the
# hub's sweep process), from one look at the process table.  Measure a
# run's processes through this, never through a pattern over the whole
# machine: another run beside it (a test, a clean clone's `make check`)
# matches the same names.
descendants() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			for (p in parent)
				for (q = parent[p]; q > 1; q = parent[q])
					if (q == root) { print p; break }
		}'
}
