package integration

import "testing"

// parityException is a case where oci-rt deliberately differs from runc
// 1.1.5: what runc does, what we do, and why, with the words of the
// runtime spec (v1.3.0) that decide it, or the project rule where the spec
// does not.
type parityException struct {
	runc, ours, why string
	// test is the test that holds oci-rt to its side.
	test string
}

// parityExceptions is the one list of deliberate differences from runc.
var parityExceptions = map[string]parityException{
	"command found without PATH": {
		runc: "searches only the env's PATH: with none in the env, a command without a slash is not found",
		ours: "searches a default path when the env has no PATH (the env itself stays as given)",
		why: "config.md, process.args: \"that entry is used with the same semantics as execvp's file\"; " +
			"execvp searches a default path when PATH is unset",
		test: "TestLookPathDefaultAndRelative (libcontainer/proc)",
	},
	"user namespace joined without mappings": {
		runc: "refuses create: \"User namespaces enabled, but no uid mappings found.\"",
		ours: "joins the namespace; the process runs under that namespace's own map",
		why:  "config-linux.md: \"uidMappings (array of objects, OPTIONAL)\", \"gidMappings (array of objects, OPTIONAL)\"",
		test: "TestJoinUserNamespaceWithoutMappings",
	},
	"failed poststop hook": {
		runc: "logs the failure at level error, exits 0",
		ours: "logs it at level warning, exits 0",
		why: "runtime.md, lifecycle step 13: \"If any poststop hook fails, the runtime MUST log a warning, " +
			"but the remaining hooks and lifecycle continue as if the hook had succeeded.\"",
		test: "TestPoststopHookFailureWarns",
	},
	"unknown capability": {
		runc: "ignores it with the warning \"ignoring unknown or unavailable capabilities\"",
		ours: "refuses create or exec; the error says the refusal is deliberate",
		why: "not the spec: config.md says such a value \"MUST be logged as a warning\" and runtimes \"SHOULD NOT fail\"; " +
			"the project's security rules make it an error, so a misspelt capability never silently runs the process without it",
		test: "TestUnknownCapabilityFails, TestParseCapabilitiesRejectsUnknownNames (libcontainer/proc)",
	},
	"foreground run -t from a background process group": {
		runc: "spins retrying the terminal's mode change (SIGTTOU is caught for forwarding)",
		ours: "leaves the foreground job's terminal alone and runs to completion",
		why:  "no oracle: runc never finishes; nothing in the spec covers the runtime's own terminal",
		test: "TestRunTerminalInBackground",
	},
	"tmpfs mode= over an existing directory": {
		runc: "mounts the tmpfs with mode=, then changes its mode to the covered directory's",
		ours: "the tmpfs has the mode mode= gives; without mode= it takes the covered directory's, as runc does",
		why: "config.md, mounts: \"options (array of strings, OPTIONAL) Mount options of the filesystem to be used.\"; " +
			"runc 1.1.8 fixed this in the same way",
		test: "TestTmpfsModeOptionWins",
	},
	"bind source through a symlink in the rootfs": {
		runc: "follows the image's symlink in a source inside the rootfs on the host (rootfs/x -> /etc binds the host's /etc)",
		ours: "resolves a source inside the rootfs inside it, as every other path in the rootfs",
		why: "not the spec: the project's security rule that every path inside the rootfs resolves through the rootfs's fd; " +
			"an image must not choose host files to expose",
		test: "TestBindSourceInRootfsStaysInside",
	},
}

// specException names, in a test's log, the exception that test holds
// oci-rt to; an unknown name is a mistake in the test.
func specException(t *testing.T, name string) {
	t.Helper()
	e, ok := parityExceptions[name]
	if !ok {
		t.Fatalf("no parity exception %q in parityExceptions", name)
	}
	t.Logf("differs from runc on purpose: runc %s; oci-rt %s; because %s", e.runc, e.ours, e.why)
}
