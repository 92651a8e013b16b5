#!/usr/bin/env bash
# The newcomer's demo: a real container from a busybox bundle, in its own
# user namespace, printing what it sees of itself.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bundle=$(mktemp -d /tmp/oci-rt-demo.XXXXXX)
# The container's root (host uid 100000) must be able to reach its rootfs.
chmod 755 "$bundle"
trap 'rm -rf "$bundle"' EXIT
"$here/tests/mkbundle.sh" "$bundle" >/dev/null
# Not a terminal, a hostname, a user namespace mapping root to 100000.
jq '.process.terminal = false
  | .hostname = "oci-rt-demo"
  | .process.args = ["sh", "-c", "echo hostname: $(hostname); echo pid: $$; echo uid_map: $(cat /proc/self/uid_map); echo mounts:; cat /proc/self/mounts"]
  | .linux.namespaces += [{"type": "user"}]
  | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
  | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
	"$bundle/config.json" > "$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"
chown -R 100000:100000 "$bundle/rootfs"
echo "+ oci-rt run --bundle $bundle demo"
"$here/oci-rt" run --bundle "$bundle" "demo-$$"
