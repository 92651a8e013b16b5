#!/usr/bin/env bash
# make bench: start latency and memory of `run` of /bin/true in a busybox
# bundle, oci-rt next to runc (Debian 1.1.5), crun (1.8.1) and a bare
# `unshare --fork --pid --mount-proc /bin/true` as the floor (and, under
# oci-rt's own figures, tests/bench/gofloor's: see below). The runtimes
# run in alternation, each with its own private --root, and the table gives
# median wall times, peak RSS and ratios to runc (see benchtool/main.go for
# what the memory columns mean), and the same table again with a thousand
# more mounts in the runtimes' mount namespace (a node with many pods),
# and once more, with an exec into a running container, each command
# after a pause (a quiet machine, as a node starts containers and runs
# probes now and then).
# Then, for the three runtimes: run in a user namespace of the
# container's own, back to back and on a quiet machine; run without root
# (tests/bench/rootless.sh: by a user, and by a rootless engine); create,
# start, state, exec, kill and delete timed separately with their system calls,
# the system calls of a run, 1, 10 and 50 concurrent runs and
# create+start of a sleep (throughput, p50, p99, CPU per container; the
# sleeps of a level all exist together), and an exec probe load (20
# containers per runtime, each exec'd once a second), both in three
# rounds with the runtimes taking turns; and tests/bench/selfexe.sh (the
# cost of protecting the runtime binary), then on a host with cgroup v1
# hierarchies tests/bench/cgroupmode.sh (v1 against v2 on the same host).
#
# Environment: BENCH_RUNS (timed runs per runtime, default 30, at least 30
# for `make bench`), BENCH_RSS_RUNS (untimed traced runs for the runtime's
# own peak RSS, default 5), BENCH_MOUNTS (the busy node's extra mounts,
# default 1000), BENCH_PROBE_SECONDS (default 60), RUNC, CRUN (paths of
# the other runtimes).
#
# Figures on a shared machine are noisy: compare medians from one table
# (the alternation exposes all runtimes to the same load), not across runs.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${BENCH_RUNS:-30}
rss_runs=${BENCH_RSS_RUNS:-5}
runc=${RUNC:-/usr/sbin/runc}
crun=${CRUN:-/usr/bin/crun}
ocirt=$repo/oci-rt

die() {
	echo "bench: $*" >&2
	exit 1
}

"$repo/tests/install-deps.sh"
[ "$(id -u)" -eq 0 ] || die "must run as root (containers with real namespaces and cgroups)"
[ -x "$ocirt" ] || die "$ocirt is missing: run make build"
[ -x "$runc" ] || die "runc not found at $runc"

tmp=$(mktemp -d /tmp/oci-rt-bench.XXXXXX)
# The runtimes keep their state where engines have them keep it, under
# /run, which is a tmpfs on the hosts they run on: here in a tmpfs of the
# bench's own. This VM's /run and /tmp are on its ext4 root, which has no
# journal: ext4 then allocates each new inode past every recently freed
# one, reading their inode blocks one by one, and at fifty concurrent
# runs that search took 6-13% of a runtime's CPU per container (more
# where more inodes near its state directory had just been freed): a
# cost of this disk, not of any runtime.
state=$tmp/state
mkdir "$state"
mount -t tmpfs -o mode=0700 oci-rt-bench "$state"
# Container IDs carry this prefix so that leftovers can be found and
# removed (crun leaves an empty cgroup per container in the v2 hierarchy of
# a hybrid host).
prefix=ocirtbench-$$
cleanup() {
	local rt d
	if [ -x "$crun" ] && [ -d "$state/root-crun" ]; then
		env "${crun_env[@]}" "$crun" --root "$state/root-crun" list -q 2>/dev/null | while read -r id; do
			env "${crun_env[@]}" "$crun" --root "$state/root-crun" delete -f "$id" 2>/dev/null || true
		done
	fi
	for rt in "$ocirt" "$runc"; do
		for d in "$state"/root-*; do
			[ -d "$d" ] || continue
			"$rt" --root "$d" list -q 2>/dev/null | while read -r id; do
				"$rt" --root "$d" delete -f "$id" 2>/dev/null || true
			done
		done
	done
	for d in /sys/fs/cgroup/*/"$prefix"-* /sys/fs/cgroup/*/*/"$prefix"-*; do
		if [ -d "$d" ]; then rmdir "$d" 2>/dev/null || true; fi
	done
	umount "$state" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== oci-rt bench: run of /bin/true, $runs alternating runs each =="
echo "host: $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "oci-rt $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'); $("$runc" --version | head -1); $("$crun" --version 2>/dev/null | head -1 || echo 'no crun')"

bundle=$tmp/bundle
"$repo/tests/mkbundle.sh" "$bundle" >/dev/null
jq '.process.terminal = false | .process.args = ["/bin/true"]' "$bundle/config.json" >"$tmp/config.json"
mv "$tmp/config.json" "$bundle/config.json"

(cd "$repo" && go build -o "$tmp/benchtool" ./tests/bench/benchtool) || die "building benchtool failed"

cmds=(
	-- oci-rt "$ocirt" --root "$state/root-oci-rt" run -b "$bundle" "$prefix-o{}"
	--- runc "$runc" --root "$state/root-runc" run -b "$bundle" "$prefix-r{}"
)

# crun 1.8.1 refuses ociVersion 1.3.0: it gets a copy of the config with
# 1.0.2, same rootfs. It also refuses a hybrid cgroup host whose v2
# hierarchy has controllers, whatever --cgroup-manager says; there it runs
# with tests/conformance's LD_PRELOAD shim that hides the v2 hierarchy, so
# that it manages the v1 controllers as runc does here.
crun_note=
crun_env=()
crun_preload=
if [ -x "$crun" ]; then
	mkdir "$tmp/crun-bundle"
	jq --arg root "$bundle/rootfs" '.ociVersion = "1.0.2" | .root.path = $root' \
		"$bundle/config.json" >"$tmp/crun-bundle/config.json"
	unified=/sys/fs/cgroup/unified
	if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] && [ -d $unified ] &&
		[ -n "$(cat $unified/cgroup.controllers 2>/dev/null)" ]; then
		shim_src=$repo/tests/conformance/crun-no-unified.c
		if [ -f "$shim_src" ] && cc -shared -fPIC -O2 -o "$tmp/crun-no-unified.so" "$shim_src" -ldl; then
			crun_preload=$tmp/crun-no-unified.so
			crun_env=("LD_PRELOAD=$crun_preload")
			crun_note="crun ran with an LD_PRELOAD shim hiding the hybrid host's v2 hierarchy (it refuses hybrid hosts); it manages v1 cgroups there"
		else
			crun_note="crun skipped: it refuses this hybrid cgroup host (no flag avoids it) and the shim $shim_src is missing"
		fi
	fi
	if [ -z "$crun_note" ] || [ ${#crun_env[@]} -gt 0 ]; then
		cmds+=(--- crun "${crun_env[@]}" "$crun" --root "$state/root-crun" run -b "$tmp/crun-bundle" "$prefix-c{}")
	fi
else
	crun_note="crun skipped: $crun not found"
fi
cmds+=(--- unshare unshare --fork --pid --mount-proc /bin/true)
# The floor under oci-rt's own figures: a Go program linked as it is, with
# the libraries it carries, that only parses `run -b` and decodes the
# bundle's config (tests/bench/gofloor).
make -C "$repo" --no-print-directory gofloor GOFLOOR="$tmp/gofloor" >/dev/null || die "building gofloor failed"
cmds+=(--- go-floor "$tmp/gofloor" run -b "$bundle")

echo
"$tmp/benchtool" -n "$runs" -rss "$rss_runs" -ref runc "${cmds[@]}" | tee "$tmp/table"
echo "own MiB: the runtime process's own peak RSS (median of $rss_runs traced runs), mostly its binary's pages, which the page cache shares among all its processes;"
echo "private: the anonymous part of it (heap, stacks, written data), what each concurrent runtime process costs beyond the first;"
echo "cpu ms: user+system time of the runtime and the children it reaped (its init, the container): less sensitive to load than wall time;"
echo "tree MiB: ru_maxrss of the runtime and the children it reaped."
echo "go-floor: no runtime; a Go program linked as oci-rt, with the libraries it carries, that parses run -b and decodes config.json."
[ -z "$crun_note" ] || echo "note: $crun_note"

# Every run deleted its container: nothing may be left in the state dirs.
for rt in oci-rt runc; do
	bin=$ocirt
	[ $rt = oci-rt ] || bin=$runc
	left=$("$bin" --root "$state/root-$rt" list -q 2>/dev/null || true)
	[ -z "$left" ] || die "$rt left containers behind: $left"
done
left=$(find /sys/fs/cgroup/unified/oci-rt -maxdepth 1 -name "$prefix-*" 2>/dev/null || true)
[ -z "$left" ] || die "oci-rt left cgroups behind: $left"

awk '$1 == "oci-rt" { o = $3 } $1 == "runc" { r = $3 }
	END {
		if (r > 0) printf "target oci-rt <= 0.5 x runc: %s (%.2f x)\n", (o <= 0.5 * r ? "met" : "NOT met"), o / r
	}' "$tmp/table"

# A node's mount table grows with its pods (volumes, secrets, overlays),
# and every mount namespace a runtime makes starts as a copy of it: what a
# runtime reads or walks per mount shows here. The mounts live in a
# private mount namespace that ends with the table; the host's stay as
# they are.
busy_mounts=${BENCH_MOUNTS:-1000}
echo
echo "== run of /bin/true on a busy node: $busy_mounts more mounts in the runtimes' mount namespace, $runs alternating runs each =="
mkdir "$tmp/mounts"
# shellcheck disable=SC2016 # the inner shell expands its own arguments
unshare --mount --propagation private bash -c '
	set -e
	mount -t tmpfs busynode "$1"
	for i in $(seq "$2"); do
		mkdir "$1/$i"
		mount -t tmpfs -o size=4k "busynode$i" "$1/$i"
	done
	echo "mountinfo lines: $(wc -l </proc/self/mountinfo)"
	shift 2
	exec "$@"' _ "$tmp/mounts" "$busy_mounts" "$tmp/benchtool" -n "$runs" -rss 0 -ref runc "${cmds[@]}"

# The other tables give all runtimes one bundle with ociVersion 1.0.2
# (crun's), and crun its shim where it needs it.
rts=(-- oci-rt "$ocirt" --root "$state/root-oci-rt" --- runc "$runc" --root "$state/root-runc")
have_crun=false
if [ -d "$tmp/crun-bundle" ] && { [ -z "$crun_note" ] || [ ${#crun_env[@]} -gt 0 ]; }; then
	rts+=(--- crun "${crun_env[@]}" "$crun" --root "$state/root-crun")
	have_crun=true
fi
mkdir "$tmp/sleep-bundle"
jq --arg root "$bundle/rootfs" '.ociVersion = "1.0.2" | .root.path = $root | .process.args = ["sleep", "100000"]' \
	"$bundle/config.json" >"$tmp/sleep-bundle/config.json"
jq '.ociVersion = "1.0.2"' "$bundle/config.json" >"$tmp/config.json"
mv "$tmp/config.json" "$bundle/config.json"

# The tables above start each command right after the one before, whose
# leftovers in the kernel (a grace period it began, a lock left on its
# slow path) the next one meets half done. A node starts containers and
# the kubelet execs its probes now and then: the same commands once the
# machine has been quiet for a while.
quiet_pause=300ms
echo
echo "== run and exec of /bin/true on a quiet machine, each after $quiet_pause of nothing: 10 alternating runs each =="
execs=(-- oci-rt "$ocirt" --root "$state/root-oci-rt" exec "$prefix-qo" /bin/true
	--- runc "$runc" --root "$state/root-runc" exec "$prefix-qr" /bin/true)
"$ocirt" --root "$state/root-oci-rt" run -d -b "$tmp/sleep-bundle" "$prefix-qo" </dev/null >/dev/null
"$runc" --root "$state/root-runc" run -d -b "$tmp/sleep-bundle" "$prefix-qr" </dev/null >/dev/null
if $have_crun; then
	env "${crun_env[@]}" "$crun" --root "$state/root-crun" run -d -b "$tmp/sleep-bundle" "$prefix-qc" </dev/null >/dev/null
	execs+=(--- crun "${crun_env[@]}" "$crun" --root "$state/root-crun" exec "$prefix-qc" /bin/true)
fi
echo "run:"
"$tmp/benchtool" -n 10 -rss 0 -pause "$quiet_pause" -ref runc "${cmds[@]}"
echo "exec into a running sleep:"
"$tmp/benchtool" -n 10 -rss 0 -pause "$quiet_pause" -ref runc "${execs[@]}"
"$ocirt" --root "$state/root-oci-rt" delete -f "$prefix-qo"
"$runc" --root "$state/root-runc" delete -f "$prefix-qr"
if $have_crun; then
	env "${crun_env[@]}" "$crun" --root "$state/root-crun" delete -f "$prefix-qc"
fi

# A container with a user namespace of its own, as rootful Podman's
# --userns=auto and Kubernetes' hostUsers: false make them: its root is
# host uid 100000. runc's and crun's inits set it up from inside that
# namespace, so the bundle's directories must be open to that uid. crun
# 1.8.1 chowns the stdio it is given to the container's root, a host's
# /dev/null included: the runtimes get a private null device for stdin,
# and their output goes to a file of the bench's.
echo
echo "== run of /bin/true in a user namespace of its own (root is host uid 100000): $runs alternating runs each, then 10 on a quiet machine =="
chmod 0755 "$tmp"
mkdir "$tmp/userns-bundle"
jq --arg root "$bundle/rootfs" '.root.path = $root | .linux.namespaces += [{"type": "user"}]
	| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
	| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
	"$bundle/config.json" >"$tmp/userns-bundle/config.json"
mknod -m 0666 "$tmp/null" c 1 3
userns_cmds=(-- oci-rt "$ocirt" --root "$state/root-oci-rt" run -b "$tmp/userns-bundle" "$prefix-uo{}"
	--- runc "$runc" --root "$state/root-runc" run -b "$tmp/userns-bundle" "$prefix-ur{}")
if $have_crun; then
	userns_cmds+=(--- crun "${crun_env[@]}" "$crun" --root "$state/root-crun" run -b "$tmp/userns-bundle" "$prefix-uc{}")
fi
for pause in 0s "$quiet_pause"; do
	n=$runs
	[ "$pause" = 0s ] || n=10
	"$tmp/benchtool" -n "$n" -rss 0 -pause "$pause" -ref runc "${userns_cmds[@]}" <"$tmp/null" 2>"$tmp/userns-out" ||
		die "the user namespace runs failed: $(cat "$tmp/userns-out")"
done

echo
BENCH_RUNS=$runs OCIRT_BINARY=$ocirt RUNC=$runc CRUN=$crun CRUN_PRELOAD=$crun_preload BENCHTOOL=$tmp/benchtool \
	"$repo/tests/bench/rootless.sh"

echo
echo "== each operation, $runs alternating rounds (a running sleep; syscalls: one more round under strace -f) =="
"$tmp/benchtool" lifecycle -n "$runs" -strace -bundle "$tmp/sleep-bundle" -prefix "$prefix-l" "${rts[@]}"
echo "system calls of run /bin/true (strace -f, the whole tree):"
i=0
while [ $i -lt ${#rts[@]} ]; do
	# One runtime: the words after "--" or "---" up to the next.
	i=$((i + 1)) label=${rts[$i]} words=()
	while [ $((i + 1)) -lt ${#rts[@]} ] && [ "${rts[$((i + 1))]}" != --- ]; do
		i=$((i + 1))
		words+=("${rts[$i]}")
	done
	i=$((i + 1))
	env_words=()
	while [[ ${words[0]} == *=* ]]; do env_words+=("${words[0]}") && words=("${words[@]:1}"); done
	env "${env_words[@]}" strace -f -c -U calls,name -o "$tmp/strace" "${words[@]}" run -b "$bundle" "$prefix-sys-$label" >/dev/null 2>&1
	printf '  %-8s %6s\n' "$label" "$(awk '$2 == "total" { print $1 }' "$tmp/strace")"
done

mkdir "$tmp/seccomp-bundle"
"$tmp/benchtool" docker-profile >"$tmp/docker-profile.json"
jq --slurpfile prof "$tmp/docker-profile.json" '.linux.seccomp = $prof[0]' \
	"$tmp/sleep-bundle/config.json" >"$tmp/seccomp-bundle/config.json"
echo
echo "== each operation under Docker's default seccomp profile, $runs alternating rounds =="
"$tmp/benchtool" lifecycle -n "$runs" -bundle "$tmp/seccomp-bundle" -prefix "$prefix-z" "${rts[@]}"

echo
echo "== concurrent runs of /bin/true, then create+start of sleep (three rounds, the runtimes taking turns in each; each worker does 10 in a round, at least 20 a level) =="
"$tmp/benchtool" scale -c 1,10,50 -rounds 3 -bundle "$bundle" -sleep-bundle "$tmp/sleep-bundle" -prefix "$prefix-s" "${rts[@]}"
echo "runs/s: the median of the three rounds' throughputs; p50, p99 and cpu over all runs"

probe_seconds=${BENCH_PROBE_SECONDS:-60}
echo
echo "== exec probe load: 20 running containers per runtime, each exec'd /bin/true once a second for $probe_seconds s (three rounds, the runtimes taking turns) =="
"$tmp/benchtool" probe -containers 20 -seconds "$probe_seconds" -rounds 3 -bundle "$tmp/sleep-bundle" -prefix "$prefix-p" "${rts[@]}"
echo "cpu: the runtime's whole process tree per exec (/bin/true included); cpu s/s: all probes' CPU per second"
[ -z "$crun_note" ] || echo "note: $crun_note"
echo
"$repo/tests/bench/selfexe.sh"
echo
"$repo/tests/bench/cgroupmode.sh"
