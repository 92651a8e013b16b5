#!/bin/sh
# Installs the engines the e2e suite drives: containerd 1.6, Podman 4.3 with
# conmon, Docker 20.10 (all from Debian) and crictl from the Go module proxy.
# Debian's maintainer scripts would start containerd and dockerd as system
# services; a policy-rc.d that answers "forbidden" keeps them stopped, so the
# only daemons that ever run are the suite's own private ones.
set -eu

CRICTL_VERSION=v1.37.0
BIN_DIR=${E2E_BIN_DIR:-$(dirname "$0")/.cache/bin}

missing=""
for pair in containerd:containerd ctr:containerd podman:podman conmon:conmon \
	dockerd:docker.io /usr/bin/docker:docker.io busybox:busybox-static; do
	cmd=${pair%%:*} pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
	policy=/usr/sbin/policy-rc.d
	saved=""
	if [ -e "$policy" ]; then
		saved=$(mktemp)
		cp -p "$policy" "$saved"
	fi
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	restore() {
		if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
	}
	trap restore EXIT
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086 # a word list
	apt-get install -y -q --no-install-recommends $missing
fi

mkdir -p "$BIN_DIR"
# crictl built by go install reports no version itself; its build info does.
if ! go version -m "$BIN_DIR/crictl" 2>/dev/null | grep -q "sigs.k8s.io/cri-tools[[:space:]]*$CRICTL_VERSION"; then
	GOBIN=$(cd "$BIN_DIR" && pwd) GOFLAGS=-mod=mod go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
fi
