#!/usr/bin/env bash
# The cost of cgroup v1 hierarchies in `run` (part of make bench on a host
# that has them; also usable in the v1 VM): oci-rt runs /bin/true in the
# default bundle, its cgroup mount included, in two private mount
# namespaces of the same host, in alternation:
#  v1  the host's layout: a cgroup per v1 hierarchy (plus the unified one
#      on a hybrid host), the device rules in devices.deny/allow, the
#      process moved into each hierarchy, and in the container a tmpfs at
#      /sys/fs/cgroup with a bind per hierarchy;
#  v2  a cgroup2 mount over /sys/fs/cgroup in that namespace only, so that
#      oci-rt sees a pure v2 host: one cgroup, the eBPF device filter,
#      CLONE_INTO_CGROUP, one cgroup2 mount in the container.
# Both sides run on one kernel, one boot and one load, so the difference is
# the work of several hierarchies, not the machine. The controllers stay
# bound to the v1 hierarchies, so the bundle sets no limits (v2 could not
# apply them). Both wrappers run one mount(8) (a tmpfs for v1, the cgroup2
# for v2) so that they cost the same. The host's own mounts never change:
# both mounts live and die with their namespace.
#
# Environment: BENCH_RUNS (timed runs per side, default 30), OCIRT_BINARY,
# BENCHTOOL (a prebuilt tests/bench/benchtool, e.g. for a VM guest, where
# compiling is slow).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${BENCH_RUNS:-30}
ocirt=${OCIRT_BINARY:-$repo/oci-rt}

die() {
	echo "bench-cgroupmode: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root"
[ -x "$ocirt" ] || die "$ocirt is missing: run make build"
echo "== cgroup v1 against v2 on one host: oci-rt run of /bin/true, $runs alternating runs each =="
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	echo "skipped: this host has no cgroup v1 hierarchies (pure cgroup v2)"
	exit 0
fi

tmp=$(mktemp -d /tmp/oci-rt-bench-cgmode.XXXXXX)
prefix=ocirtcgmode-$$
cleanup() {
	local d id
	for d in "$tmp"/root-*; do
		[ -d "$d" ] || continue
		for id in $("$ocirt" --root "$d" list -q 2>/dev/null); do
			"$ocirt" --root "$d" delete -f "$id" 2>/dev/null || true
		done
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

bundle=$tmp/bundle
"$repo/tests/mkbundle.sh" "$bundle" >/dev/null
jq '.process.terminal = false | .process.args = ["/bin/true"]' "$bundle/config.json" >"$tmp/config.json"
mv "$tmp/config.json" "$bundle/config.json"
mkdir "$tmp/mnt"
benchtool=${BENCHTOOL:-$tmp/benchtool}
[ -n "${BENCHTOOL:-}" ] || (cd "$repo" && go build -o "$benchtool" ./tests/bench/benchtool) || die "building benchtool failed"

run="exec $ocirt --root $tmp/root-%s run -b $bundle $prefix-%s{}"
# shellcheck disable=SC2059 # the format is ours
"$benchtool" -n "$runs" -rss 0 -ref v2 \
	-- v1 unshare --mount --propagation private sh -c "mount -t tmpfs tmpfs $tmp/mnt && $(printf "$run" v1 a)" \
	--- v2 unshare --mount --propagation private sh -c "mount -t cgroup2 cgroup2 /sys/fs/cgroup && $(printf "$run" v2 b)" |
	tee "$tmp/table"
awk '$1 == "v1" { w1 = $3; c1 = $6 } $1 == "v2" { w2 = $3; c2 = $6 }
	END {
		printf "v1 - v2: %+.1f ms median wall, %+.1f ms median cpu\n", w1 - w2, c1 - c2
		printf "target v1 <= v2 + 2 ms (median wall): %s\n", (w1 - w2 <= 2 ? "met" : "NOT met")
	}' "$tmp/table"
