#!/usr/bin/env bash
# Fails when `go generate ./...` would change a generated file: generated
# tables must never drift from their generators. Compares copies, so it
# works in a checkout with uncommitted changes too.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t generated < <(git ls-files '*.go' | xargs grep -l '^// Code generated .* DO NOT EDIT\.$')
saved=$(mktemp -d)
trap 'rm -rf "$saved"' EXIT
for f in "${generated[@]}"; do
	mkdir -p "$saved/$(dirname "$f")"
	cp "$f" "$saved/$f"
done
go generate ./...
status=0
for f in "${generated[@]}"; do
	if ! cmp -s "$f" "$saved/$f"; then
		echo "go generate changed $f: commit the regenerated file" >&2
		status=1
	fi
done
exit $status
