package libcontainer

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestRootlessCgroupError(t *testing.T) {
	denied := fmt.Errorf("create cgroup /sys/fs/cgroup/x: %w", fs.ErrPermission)
	err := rootlessCgroupError(denied, true)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "--rootless: running a container without a cgroup is not supported yet") {
		t.Errorf("rootless, permission denied: %v", err)
	}
	if err := rootlessCgroupError(denied, false); err != denied {
		t.Errorf("not rootless: %v, want the error unchanged", err)
	}
	other := errors.New("cgroup busy")
	if err := rootlessCgroupError(other, true); err != other {
		t.Errorf("rootless, other error: %v, want it unchanged", err)
	}
}
