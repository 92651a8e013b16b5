#!/usr/bin/env bash
# `run` of /bin/true without root (part of make bench), oci-rt next to runc
# and crun, each in alternation with its own state in a tmpfs of the
# bench's user:
#  by the user   an unprivileged runtime, as a user runs one by hand: a
#                user namespace mapping the user alone, as `spec
#                --rootless` writes it, and no cgroup (the user may create
#                none here). oci-rt re-executes itself as root of that
#                namespace, made by its constructor, and goes on as for
#                host root: a plan, and the read-only overlay of its binary
#                in a mount namespace of its own.
#  by an engine  the runtime as root of a user namespace of the user's, as
#                rootless Podman, Docker and containerd (RootlessKit) run
#                one; the container stays in that namespace (rootless
#                Podman's default). There oci-rt takes the same route as
#                for host root: a plan, and the read-only overlay.
# The user is made for the bench and removed after it.
#
# Environment: BENCH_RUNS (timed runs per runtime, default 30),
# OCIRT_BINARY, RUNC, CRUN, CRUN_PRELOAD (the LD_PRELOAD shim make bench
# builds for crun on a hybrid cgroup host, which crun refuses otherwise),
# BENCHTOOL (a prebuilt tests/bench/benchtool).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${BENCH_RUNS:-30}
ocirt=${OCIRT_BINARY:-$repo/oci-rt}
runc=${RUNC:-/usr/sbin/runc}
crun=${CRUN:-/usr/bin/crun}

die() {
	echo "bench-rootless: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it makes the bench's user)"
[ -x "$ocirt" ] || die "$ocirt is missing: run make build"
echo "== run of /bin/true without root: $runs alternating runs each =="

tmp=$(mktemp -d /tmp/oci-rt-bench-rootless.XXXXXX)
chmod 0755 "$tmp"
user=ocirtbench$$
state=$tmp/state
cleanup() {
	if mountpoint -q "$state"; then umount "$state"; fi
	if id "$user" >/dev/null 2>&1; then userdel "$user"; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
as_user() { setpriv --reuid="$user" --regid="$user" --clear-groups "$@"; }
mkdir "$state"
mount -t tmpfs -o "mode=0700,uid=$(id -u "$user"),gid=$(id -g "$user")" oci-rt-bench-rootless "$state"

# The user runs benchtool from here, where it may.
benchtool=$tmp/benchtool
if [ -n "${BENCHTOOL:-}" ]; then
	cp "$BENCHTOOL" "$benchtool"
else
	(cd "$repo" && go build -o "$benchtool" ./tests/bench/benchtool) || die "building benchtool failed"
fi
chmod 0755 "$benchtool"
# The user runs a copy of the runtime from a directory of its own, beside
# the state tmpfs, not above it: the runtime runs its binary from an
# overlay of the binary's directory, and in a mount namespace made without
# privilege the mounts inherited below that directory are locked, which
# overlay refuses (it would uncover what they hide); the runtime then
# copies its binary into a memfd instead.
mkdir "$tmp/bin"
user_ocirt=$tmp/bin/oci-rt
cp "$ocirt" "$user_ocirt"
chmod 0755 "$user_ocirt"

bundle=$tmp/bundle
"$repo/tests/mkbundle.sh" "$bundle" >/dev/null
mkdir "$tmp/user-bundle" "$tmp/engine-bundle"
chown "$user" "$tmp/user-bundle"
(cd "$tmp/user-bundle" && as_user "$user_ocirt" spec --rootless)
# ociVersion 1.0.2 for crun 1.8.1, which refuses later ones.
jq --arg root "$bundle/rootfs" '.ociVersion = "1.0.2" | .root = {path: $root, readonly: true}
	| .process.terminal = false | .process.args = ["/bin/true"]' \
	"$tmp/user-bundle/config.json" >"$tmp/config.json"
mv "$tmp/config.json" "$tmp/user-bundle/config.json"
jq 'del(.linux.uidMappings, .linux.gidMappings) | .linux.namespaces |= map(select(.type != "user"))' \
	"$tmp/user-bundle/config.json" >"$tmp/engine-bundle/config.json"

crun_cmd=()
crun_note=
if [ ! -x "$crun" ]; then
	crun_note="crun skipped: $crun not found"
elif [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ] &&
	[ -z "${CRUN_PRELOAD:-}" ]; then
	crun_note="crun skipped: it refuses this hybrid cgroup host without the shim make bench passes as CRUN_PRELOAD"
else
	# crun would try a cgroup and fail where oci-rt and runc find they may
	# not make one and go on without it: it is told so.
	crun_cmd=("$crun" --cgroup-manager=disabled)
	if [ -n "${CRUN_PRELOAD:-}" ]; then
		cp "$CRUN_PRELOAD" "$tmp/crun-shim.so"
		chmod 0755 "$tmp/crun-shim.so"
		crun_cmd=("LD_PRELOAD=$tmp/crun-shim.so" "${crun_cmd[@]}")
		crun_note="crun ran with the LD_PRELOAD shim hiding the hybrid host's v2 hierarchy and --cgroup-manager=disabled"
	else
		crun_note="crun ran with --cgroup-manager=disabled"
	fi
fi

# bench_runs KEY BUNDLE [WRAPPER...] times the runtimes' runs of BUNDLE in
# alternation, as the user, under WRAPPER; benchtool fills in {} with the
# run's number.
bench_runs() {
	local key=$1 bundle=$2
	shift 2
	local cmds=(-- oci-rt "$user_ocirt" --root "$state/$key-oci-rt" run -b "$bundle" "$key-o{}"
		--- runc "$runc" --root "$state/$key-runc" run -b "$bundle" "$key-r{}")
	if [ ${#crun_cmd[@]} -gt 0 ]; then
		cmds+=(--- crun "${crun_cmd[@]}" --root "$state/$key-crun" run -b "$bundle" "$key-c{}")
	fi
	as_user "$@" "$benchtool" -n "$runs" -rss 0 -ref runc "${cmds[@]}" </dev/null
}

echo "by the user (an unprivileged runtime; a user namespace mapping the user alone; no cgroup):"
bench_runs "$user-u" "$tmp/user-bundle"
echo "by an engine (the runtime as root of the user's user namespace, the container in it):"
bench_runs "$user-e" "$tmp/engine-bundle" unshare --user --map-root-user --mount
[ -z "$crun_note" ] || echo "note: $crun_note"
