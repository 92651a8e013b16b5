package proc

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func readCapLastCap(t *testing.T) int {
	t.Helper()
	content, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(content)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
