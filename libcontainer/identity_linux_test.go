package libcontainer

import (
	"encoding/hex"
	"testing"
)

// A cgroup mark is 16 random bytes in hex, a new one for every create;
// where this runtime cannot read trusted xattrs back, there is none.
func TestNewCgroupMarkIsFreshRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 64 {
		mark, err := newCgroupMark()
		if err != nil {
			t.Fatal(err)
		}
		if !canUseTrustedXattrs() {
			if mark != "" {
				t.Fatalf("mark %q where trusted xattrs cannot be read", mark)
			}
			return
		}
		if b, err := hex.DecodeString(mark); err != nil || len(b) != 16 {
			t.Fatalf("mark %q is not 16 bytes in hex", mark)
		}
		if seen[mark] {
			t.Fatalf("mark %s came twice", mark)
		}
		seen[mark] = true
	}
}
