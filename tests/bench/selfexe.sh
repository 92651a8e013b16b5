#!/usr/bin/env bash
# selfexe.sh: what protecting the runtime binary costs each run, create
# and exec (the child runs it from a read-only overlay, or from a sealed
# memfd copy where the overlay cannot be built). Both ways are timed
# alone, 300 times, three rounds, on the Go test binary: the overlay's
# cost does not grow with the binary's size, the copy's does. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
tmp=$(mktemp -d /tmp/oci-rt-bench-selfexe.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tags=osusergo,netgo,urfave_cli_no_docs
go test -tags "$tags" -c -o "$tmp/libcontainer.test" ./libcontainer/
echo "protecting the runtime binary, per start (test binary $(stat -c %s "$tmp/libcontainer.test") bytes, oci-rt $(stat -c %s oci-rt 2>/dev/null || echo '?')):"
"$tmp/libcontainer.test" -test.run '^$' -test.bench '^BenchmarkSealedSelf$' -test.benchtime 300x -test.count 3 |
	awk '/^BenchmarkSealedSelf/ { sub(/-[0-9]+$/, "", $1); printf "  %-28s %8.1f us\n", $1, $3 / 1000 }'
