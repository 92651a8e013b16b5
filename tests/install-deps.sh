#!/usr/bin/env bash
# Installs the Debian packages oci-rt's build, demo and tests need, once.
set -euo pipefail
# CRIU runs iptables-save and ip6tables-restore for a container's network
# namespace, and Debian's criu package does not pull them in.
pkgs=(busybox-static gcc musl-tools make git libseccomp-dev shellcheck clang-format runc crun qemu-system-x86 linux-image-amd64 hyperfine jq procps iproute2 uidmap criu iptables strace)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
