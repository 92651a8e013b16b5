//go:build ocirt_testhooks

package libcontainer

import "os"

// execPlanDisabled lets the exec differential test run an exec through
// the Go path (OCIRT_TEST_EXEC_GO_PATH=1) to compare it with the plan.
// Only binaries built with the ocirt_testhooks tag have it.
func execPlanDisabled() bool {
	return os.Getenv("OCIRT_TEST_EXEC_GO_PATH") != ""
}
