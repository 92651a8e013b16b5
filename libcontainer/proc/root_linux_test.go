package proc

// Root tests: each scenario runs in a re-executed copy of the test binary, so
// the identity, limits and namespaces it changes never touch the test process.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

const (
	childScenarioEnv = "OCI_RT_PROC_TEST_SCENARIO"
	childArgEnv      = "OCI_RT_PROC_TEST_ARG"
	// execMarker separates what a scenario printed itself from what the
	// program it exec'd printed.
	execMarker = "=== after execve ===\n"
)

var childScenarios = map[string]func(arg []byte) error{}

func TestMain(m *testing.M) {
	if name := os.Getenv(childScenarioEnv); name != "" {
		// Capabilities and scheduling are per-thread: stay on this one until
		// the scenario execs or exits.
		runtime.LockOSThread()
		scenario, known := childScenarios[name]
		if !known {
			fmt.Fprintf(os.Stderr, "unknown scenario %q\n", name)
			os.Exit(2)
		}
		if err := scenario([]byte(os.Getenv(childArgEnv))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// runScenario runs the named scenario in a child and returns its stdout; a
// failing child fails the test with its stderr.
func runScenario(t *testing.T, name string, arg any, attr *syscall.SysProcAttr) string {
	t.Helper()
	stdout, stderr, err := startScenario(t, name, arg, attr)
	if err != nil {
		t.Fatalf("scenario %s: %v\nstderr: %s\nstdout: %s", name, err, stderr, stdout)
	}
	return stdout
}

// runScenarioErr runs a scenario expected to fail and returns its stderr.
func runScenarioErr(t *testing.T, name string, arg any) (string, error) {
	t.Helper()
	_, stderr, err := startScenario(t, name, arg, nil)
	return stderr, err
}

func startScenario(t *testing.T, name string, arg any, attr *syscall.SysProcAttr) (stdout, stderr string, err error) {
	t.Helper()
	encoded, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childScenarioEnv+"="+name, childArgEnv+"="+string(encoded))
	cmd.SysProcAttr = attr
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// splitAtExec returns what the scenario printed before and after its execve.
func splitAtExec(t *testing.T, out string) (before, after string) {
	t.Helper()
	before, after, found := strings.Cut(out, execMarker)
	if !found {
		t.Fatalf("the scenario did not exec:\n%s", out)
	}
	return before, after
}

// statusFields parses /proc/<pid>/status text into field → value.
func statusFields(status string) map[string]string {
	fields := map[string]string{}
	for line := range strings.SplitSeq(status, "\n") {
		if key, value, found := strings.Cut(line, ":"); found {
			fields[key] = strings.Join(strings.Fields(value), " ")
		}
	}
	return fields
}

func printThenExec(printed string, argv ...string) error {
	if _, err := os.Stdout.WriteString(printed + execMarker); err != nil {
		return err
	}
	return syscall.Exec(argv[0], argv, os.Environ())
}
