#!/usr/bin/env bash
# checkpoint and restore of a container holding 256 MiB of memory, oci-rt
# against runc, in the cgroup v2 qemu VM (CRIU fails on this host's
# kernel). The container's awk fills a 256 MiB string, says so in a file
# of a bind-mounted directory and sleeps; each round checkpoints it
# (images in the guest's /tmp, a tmpfs) and restores it under a new ID,
# timing both. BENCH_CRIU_RUNS rounds (default 3) per runtime, in
# alternation; medians in milliseconds.
#
# On the host: tests/bench/criu.sh [--timeout SECS]. It builds the bundle
# into tests/bench/.cache (the guest sees the host's / read-only) and
# reruns itself in the VM with --guest DIR.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
mib=256

die() {
	echo "bench-criu: $*" >&2
	exit 1
}

# shellcheck source=tests/bench/vmhost.sh
. "$repo/tests/bench/vmhost.sh"

host() {
	command -v criu >/dev/null || die "criu is not installed (make deps)"
	local timeout work
	local script="awk 'BEGIN { s = sprintf(\"%$((mib << 20))s\", \"\"); n = length(s); print n > \"/out/ready\"; close(\"/out/ready\"); while (1) system(\"sleep 1000\") }'"
	# shellcheck disable=SC2016 # $s is jq's
	vm_bench_prepare criu "$@" -- --arg s "$script" '.process.terminal = false | .process.args = ["/bin/sh", "-c", $s]
		| .mounts += [{"destination": "/out", "type": "bind", "source": "/run/bench-out", "options": ["rbind", "rw"]}]'
	cd "$repo"
	tests/vm/run.sh --timeout "$timeout" --env "BENCH_CRIU_RUNS=${BENCH_CRIU_RUNS:-3}" -- tests/bench/criu.sh --guest "$work"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# round RUNTIME N: start a container, wait for its memory, checkpoint it,
# restore it; appends the two times to $scratch/RUNTIME.
round() {
	local rt=$1 n=$2 bin root id images t0 t1 t2 t3
	bin=${bins[$rt]}
	root=$scratch/root-$rt
	id=bench-$rt-$n
	images=$scratch/images-$rt-$n
	rm -f /run/bench-out/ready
	# The container's stdout and stderr are pipes: CRIU (runc's too)
	# cannot dump a file of the host's it holds open.
	"$bin" --root "$root" run -d -b "$bundle" "$id" </dev/null > >(cat >/dev/null) 2> >(cat >"$scratch/err") ||
		die "$rt run failed (its error output goes to $scratch/err)"
	local waited=0
	until [ -s /run/bench-out/ready ]; do
		sleep 0.2
		waited=$((waited + 1))
		[ $waited -lt 600 ] || die "$rt: the container did not fill its memory in 120 s"
	done
	[ "$(cat /run/bench-out/ready)" -eq $((mib << 20)) ] || die "$rt: the container holds $(cat /run/bench-out/ready) bytes"
	# --leave-running: runc 1.1.5 fails a plain checkpoint of this
	# container ("container still running") when the dumped processes
	# take long to exit, as freeing 256 MiB does under emulation; both
	# runtimes leave it running and it is deleted outside the timing.
	t0=$(now_ms)
	"$bin" --root "$root" checkpoint --leave-running --image-path "$images" "$id" 2>"$scratch/err" ||
		die "$rt checkpoint: $(cat "$scratch/err"); CRIU's log: $(grep -h Error "$images"/*dump.log 2>/dev/null | tail -3)"
	t1=$(now_ms)
	"$bin" --root "$root" delete -f "$id" >/dev/null 2>&1
	t2=$(now_ms)
	"$bin" --root "$root" restore -d --image-path "$images" -b "$bundle" "$id-r" </dev/null > >(cat >/dev/null) 2> >(cat >"$scratch/err") ||
		die "$rt restore failed: $(grep -h Error "$images"/restore.log 2>/dev/null | tail -3)"
	t3=$(now_ms)
	[ "$("$bin" --root "$root" state "$id-r" | jq -r .status)" = running ] || die "$rt: the restored container is not running"
	"$bin" --root "$root" delete -f "$id-r" >/dev/null 2>&1
	rm -rf "$images"
	echo "$((t1 - t0)) $((t3 - t2))" >>"$scratch/$rt"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

guest() {
	local work=$1
	scratch=$(mktemp -d /tmp/bench-criu.XXXXXX)
	# The host's tree is read-only here; the mountpoint /out is made in
	# a copy.
	bundle=$scratch/bundle
	cp -a "$work/bundle" "$bundle"
	mkdir -p /run/bench-out
	declare -gA bins=([oci-rt]=$repo/oci-rt [runc]=/usr/sbin/runc)
	local runs=${BENCH_CRIU_RUNS:-3} i rt
	for i in $(seq "$runs"); do
		for rt in oci-rt runc; do
			round "$rt" "$i"
		done
	done
	echo "checkpoint and restore of a container holding $mib MiB, $runs rounds, median ms (cgroup v2 VM):"
	for rt in oci-rt runc; do
		printf '%-8s checkpoint %6d  restore %6d\n' "$rt" \
			"$(cut -d' ' -f1 "$scratch/$rt" | median)" "$(cut -d' ' -f2 "$scratch/$rt" | median)"
	done
}

if [ "${1:-}" = --guest ]; then
	guest "${2:?--guest needs the work directory}"
else
	host "$@"
fi
