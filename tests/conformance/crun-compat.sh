#!/bin/bash
# A runtime wrapper that lets crun 1.8 (Debian 12) run the suite, for the
# baseline in baseline.md:
#   tests/conformance/run.sh --runtime tests/conformance/crun-compat.sh
# The real crun is $CRUN (default /usr/bin/crun). Two workarounds:
#  1. crun 1.8 refuses the suite's config.json ("unknown version specified")
#     because its ociVersion is 1.3.0: on create/run the bundle's ociVersion
#     is rewritten in place to $CRUN_OCI_VERSION (default 1.0.2).
#  2. crun refuses hybrid cgroup hosts whose v2 hierarchy has controllers
#     ("cgroups in hybrid mode not supported, drop all controllers from
#     cgroupv2"), whatever its --cgroup-manager (the check comes first). This
#     host has hugetlb on /sys/fs/cgroup/unified. On such a host crun runs
#     with the LD_PRELOAD shim crun-no-unified.c, which hides the v2
#     hierarchy from crun's cgroup-mode probe, so crun manages the v1
#     controllers as on a pure v1 host. Nothing on the host is changed.
#     The shim is compiled with cc into $CRUN_COMPAT_CACHE (default
#     tests/conformance/.cache/crun-compat) the first time it is needed.
# $CRUN_CGROUP_MANAGER, if set, is passed as --cgroup-manager (e.g. disabled).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
crun=${CRUN:-/usr/bin/crun}
oci_version=${CRUN_OCI_VERSION:-1.0.2}
shim_dir=${CRUN_COMPAT_CACHE:-$here/.cache/crun-compat}

die() {
	echo "crun-compat: $*" >&2
	exit 125
}

# Find the command after the global options, and the bundle it works on.
command='' bundle=. i=0
args=("$@")
while [ $i -lt ${#args[@]} ]; do
	a=${args[$i]}
	if [ -z "$command" ]; then
		case $a in
		--root | --log | --log-format | --cgroup-manager | --rootless) i=$((i + 1)) ;; # takes a value
		-*) ;;
		*) command=$a ;;
		esac
	else
		case $a in
		--bundle | -b) bundle=${args[$((i + 1))]:-.}; i=$((i + 1)) ;;
		--bundle=*) bundle=${a#--bundle=} ;;
		esac
	fi
	i=$((i + 1))
done

if [ "$command" = create ] || [ "$command" = run ]; then
	config=$bundle/config.json
	if [ -f "$config" ]; then
		# The first "ociVersion" key of each line (the generator writes one key a
		# line; a compact config has everything on one line).
		sed -i -E 's/("ociVersion"[[:space:]]*:[[:space:]]*)"[^"]*"/\1"'"$oci_version"'"/' "$config"
	fi
fi

# A hybrid host: /sys/fs/cgroup is a tmpfs of v1 hierarchies and the v2 one,
# at /sys/fs/cgroup/unified, has controllers.
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] &&
	[ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
	[ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
	shim=$shim_dir/crun-no-unified.so
	src=$here/crun-no-unified.c
	if [ ! -f "$shim" ] || [ "$src" -nt "$shim" ]; then
		command -v cc >/dev/null || die "cc is needed to build $shim (crun refuses this hybrid cgroup host without it)"
		mkdir -p "$shim_dir" || die "cannot create $shim_dir"
		tmp=$(mktemp "$shim_dir/.shim.XXXXXX")
		cc -shared -fPIC -O2 -o "$tmp" "$src" -ldl || { rm -f "$tmp"; die "cannot compile $src"; }
		mv -f "$tmp" "$shim" # atomic: concurrent calls see the old or the new file
	fi
	export LD_PRELOAD=$shim${LD_PRELOAD:+:$LD_PRELOAD}
fi

if [ -n "${CRUN_CGROUP_MANAGER:-}" ]; then
	exec "$crun" --cgroup-manager="$CRUN_CGROUP_MANAGER" "$@"
fi
exec "$crun" "$@"
