//go:build ocirt_testhooks

package libcontainer

import "os"

// execPlanDisabled lets the differential tests run an exec through the Go
// path, and a create through the Go init (OCIRT_TEST_EXEC_GO_PATH=1), to
// compare them with the plans.
// Only binaries built with the ocirt_testhooks tag have it.
func execPlanDisabled() bool {
	return os.Getenv("OCIRT_TEST_EXEC_GO_PATH") != ""
}
