#!/usr/bin/env bash
# Benchmarks in the cgroup v2 qemu VM (tests/vm/run.sh), where crun runs
# unmodified and memory limits work:
#  1. `run` of /bin/true in one busybox bundle: oci-rt, runc and crun in
#     alternation, BENCH_VM_RUNS (default 20) each, medians and ratios.
#  2. `exec ID true` into a running container (one detached `sleep` per
#     runtime), the same way.
#  3. The memory floor: for each runtime, the smallest memory.max of the
#     container's cgroup (linux.resources.memory.limit), found by binary
#     search in 64 KiB steps, under which `run` of /bin/true still exits 0.
#     Everything charged to the cgroup before the container's execve counts:
#     for oci-rt that is our re-executed Go binary as the container's init
#     (it joins the cgroup at clone), for runc its `runc init`, for crun the
#     forked crun.
#
# On the host: tests/bench/vm.sh [--timeout SECS]. It builds oci-rt's
# bundle and the timer into tests/bench/.cache (the guest sees the host's /
# read-only) and reruns itself in the VM with --guest DIR.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
step=65536
ceiling=$((64 << 20)) # a run must succeed here, or the floor is "> 64 MiB"

die() {
	echo "bench-vm: $*" >&2
	exit 1
}

# shellcheck source=tests/bench/vmhost.sh
. "$repo/tests/bench/vmhost.sh"

host() {
	local timeout work
	vm_bench_prepare vm "$@" -- '.process.terminal = false | .process.args = ["/bin/true"]'
	(cd "$repo" && go build -o "$work/benchtool" ./tests/bench/benchtool) || die "building benchtool failed"
	cd "$repo"
	# BENCH_VM_CGROUP=v1 runs the same benchmarks on v1 hierarchies only, to
	# compare the two drivers on one (emulated) machine.
	tests/vm/run.sh --timeout "$timeout" --cgroup "${BENCH_VM_CGROUP:-v2}" --env "BENCH_VM_RUNS=${BENCH_VM_RUNS:-20}" -- tests/bench/vm.sh --guest "$work"
}

# try RUNTIME LIMIT: one `run` of /bin/true under memory.max LIMIT (bytes);
# its status. The error output goes to $scratch/last-error.
try() {
	local rt=$1 limit=$2 id bundle=$scratch/floor-$1
	n=$((n + 1))
	id=floor-$rt-$n
	jq --argjson l "$limit" '.linux.resources.memory.limit = $l' "$bundle/base.json" >"$bundle/config.json"
	local rc=0
	timeout 60 "${bin[$rt]}" --root "$scratch/root-$rt" run -b "$bundle" "$id" >"$scratch/last-error" 2>&1 || rc=$?
	# A container process killed by the OOM killer makes `run` exit
	# 128+9 without a word.
	[ $rc -eq 0 ] || [ -s "$scratch/last-error" ] || echo "exit status $rc, no output" >"$scratch/last-error"
	# A run killed by the OOM killer may leave its container behind.
	"${bin[$rt]}" --root "$scratch/root-$rt" delete -f "$id" >/dev/null 2>&1 || true
	return $rc
}

# floor RUNTIME: binary search between 0 (fails) and $ceiling (must work).
floor() {
	local rt=$1 lo=0 hi=$ceiling mid ok why=
	mkdir -p "$scratch/floor-$rt"
	cp "${config[$rt]}" "$scratch/floor-$rt/base.json"
	if ! try "$rt" "$hi"; then
		printf '%-8s > %d MiB: %s\n' "$rt" $((ceiling >> 20)) "$(tail -1 "$scratch/last-error")"
		return
	fi
	while [ $((hi - lo)) -gt $step ]; do
		mid=$(((lo + hi) / 2 / step * step))
		if try "$rt" "$mid"; then
			hi=$mid
		else
			lo=$mid
			why=$(tail -1 "$scratch/last-error")
		fi
	done
	# Near the floor success depends on timing (how much of the Go heap
	# or page cache is touched before the OOM killer looks): walk up until
	# three runs in a row succeed, and give both figures.
	local lowest=$hi
	while :; do
		ok=0
		for _ in 1 2 3; do
			try "$rt" "$hi" && ok=$((ok + 1)) || why=$(tail -1 "$scratch/last-error")
		done
		if [ $ok -ge 3 ] || [ $((hi - lowest)) -ge $((16 * step)) ]; then break; fi
		hi=$((hi + step))
	done
	printf '%-8s lowest success %5d KiB, 3/3 at %5d KiB  (last failure: %s)\n' \
		"$rt" $((lowest / 1024)) $((hi / 1024)) "${why:-never failed}"
}

# bundles NAME FILTER: for each runtime a scratch bundle $scratch/NAME-RT
# (the shared bundle directory is read-only in the guest) whose config is
# the shared one changed by the jq FILTER, with root.path pointing at the
# shared rootfs.
bundles() {
	local name=$1 filter=$2 rt
	for rt in oci-rt runc crun; do
		mkdir "$scratch/$name-$rt"
		jq --arg root "$work/bundle/rootfs" "$filter | .root.path = \$root" \
			"$work/bundle/config.json" >"$scratch/$name-$rt/config.json"
	done
	# crun 1.8.1 rejects ociVersion 1.3.0.
	jq '.ociVersion = "1.0.2"' "$scratch/$name-crun/config.json" >"$scratch/crun.json"
	mv "$scratch/crun.json" "$scratch/$name-crun/config.json"
}

# compare TITLE ARGS...: time `RUNTIME --root $scratch/root-RT ARGS...` for
# oci-rt, runc and crun in alternation with benchtool, where "{rt}" in ARGS
# stands for the runtime's name (its bundle, its container); print the table
# and oci-rt's ratios to runc and crun.
compare() {
	local title=$1 cmds=() sep=-- rt ph='{rt}'
	shift
	for rt in oci-rt runc crun; do
		cmds+=("$sep" "$rt" "${bin[$rt]}" --root "$scratch/root-$rt" "${@//"$ph"/$rt}")
		sep=---
	done
	echo
	echo "-- $title, $runs alternating runs each --"
	"$work/benchtool" -n "$runs" -rss 3 -ref crun "${cmds[@]}" | tee "$scratch/table"
	awk '{ m[$1] = $3 } END {
		printf "oci-rt / runc: %.2f x; oci-rt / crun: %.2f x (target <= 1: %s)\n",
			m["oci-rt"] / m["runc"], m["oci-rt"] / m["crun"], (m["oci-rt"] <= m["crun"] ? "met" : "NOT met")
	}' "$scratch/table"
}

# delete_exec: remove the exec benchmark's containers, if they exist.
delete_exec() {
	local rt
	for rt in oci-rt runc crun; do
		"${bin[$rt]}" --root "$scratch/root-$rt" delete -f "exec-$rt" >/dev/null 2>&1 || true
	done
}

guest() {
	work=$1
	scratch=$(mktemp -d /tmp/bench-vm.XXXXXX)
	runs=${BENCH_VM_RUNS:-20}
	n=0
	declare -gA bin config
	bin=([oci-rt]=$repo/oci-rt [runc]=/usr/sbin/runc [crun]=/usr/bin/crun)
	local rt
	bundles bundle .
	bundles exec '.process.args = ["sleep", "100000"]'
	for rt in oci-rt runc crun; do
		config[$rt]=$scratch/bundle-$rt/config.json
	done

	local layout="pure cgroup v2"
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || layout="cgroup v1 hierarchies only"
	echo "== oci-rt bench in the VM: $(uname -r), $(nproc) CPUs, $layout (TCG: absolute times are slow, compare ratios) =="
	echo "$("${bin[runc]}" --version | head -1); $("${bin[crun]}" --version | head -1)"
	compare "run of /bin/true" run -b "$scratch/bundle-{rt}" "run-{rt}-{}"
	if [ "$layout" != "pure cgroup v2" ]; then
		# The same boot with a cgroup2 view: what the v1 hierarchies
		# cost, apart from whatever makes this VM slower than the v2 one.
		echo
		BENCHTOOL=$work/benchtool OCIRT_BINARY=${bin[oci-rt]} BENCH_RUNS=$runs "$repo/tests/bench/cgroupmode.sh"
	fi

	# Removed on any exit too; the cgroup check at the end shows whether
	# delete -f cleaned up.
	trap delete_exec EXIT
	for rt in oci-rt runc crun; do
		# The detached sleep keeps its stdio: files, not the pipe to tee,
		# which it would hold open.
		"${bin[$rt]}" --root "$scratch/root-$rt" run -d -b "$scratch/exec-$rt" "exec-$rt" </dev/null >/dev/null 2>"$scratch/last-error" ||
			die "$rt run -d: $(cat "$scratch/last-error")"
	done
	compare "exec of true into a running container" exec "exec-{rt}" true
	delete_exec

	echo
	echo "-- memory floor: smallest memory.max (64 KiB steps) for run of /bin/true --"
	for rt in oci-rt runc crun; do
		floor "$rt"
	done
	local left
	left=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d \( -name 'floor-*' -o -name 'run-*' -o -name 'exec-*' \) 2>/dev/null || true)
	[ -z "$left" ] || die "cgroups left behind: $left"
	rm -rf "$scratch"
}

case ${1:-} in
--guest) guest "${2:?--guest needs the work directory}" ;;
*) host "$@" ;;
esac
