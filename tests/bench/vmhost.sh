# shellcheck shell=bash
# The host side's start of the benchmarks that run in the qemu VM
# (criu.sh, vm.sh), sourced by them once they have set repo and defined
# die. The guest sees the host's / read-only: whatever it needs is made
# here, under tests/bench/.cache.

# vm_bench_prepare NAME [--timeout SECS] -- JQ-ARGS...: checks that we are
# root (tests/vm/run.sh needs it) and that oci-rt is built, and sets the
# caller's timeout (the VM run's limit, 1800 s unless given) and work: a
# new directory tests/bench/.cache/NAME.XXXXXX, removed on exit, holding
# a busybox bundle whose config.json is edited by jq JQ-ARGS...
vm_bench_prepare() {
	local name=$1
	shift
	# shellcheck disable=SC2034 # the caller's
	timeout=1800
	if [ "${1:-}" = --timeout ]; then
		# shellcheck disable=SC2034 # the caller's
		timeout=${2:?--timeout needs a value}
		shift 2
	fi
	[ "${1:-}" = -- ] || die "unknown argument: ${1:-}"
	shift
	[ "$(id -u)" -eq 0 ] || die "must run as root (tests/vm/run.sh needs it)"
	[ -x "${repo:?}/oci-rt" ] || die "$repo/oci-rt is missing: run make build"
	mkdir -p "$repo/tests/bench/.cache"
	work=$(mktemp -d "$repo/tests/bench/.cache/$name.XXXXXX")
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -rf '$work'" EXIT
	"$repo/tests/mkbundle.sh" "$work/bundle" >/dev/null
	jq "$@" "$work/bundle/config.json" >"$work/config.json"
	mv "$work/config.json" "$work/bundle/config.json"
}
