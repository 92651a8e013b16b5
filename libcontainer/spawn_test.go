package libcontainer

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/nsenter"
)

func TestCreateBootstrap(t *testing.T) {
	spec := &specs.Spec{Linux: &specs.Linux{
		Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace},
			{Type: specs.NetworkNamespace, Path: "/run/netns/x"},
			{Type: specs.MountNamespace},
			{Type: specs.TimeNamespace},
		},
		TimeOffsets: map[string]specs.LinuxTimeOffset{"boottime": {Secs: 86400}, "monotonic": {Secs: -5, Nanosecs: 7}},
	}}
	b := createBootstrap(spec)
	if want := uint32(unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWTIME); b.CloneFlags != want {
		t.Errorf("clone flags %#x, want %#x", b.CloneFlags, want)
	}
	if len(b.Join) != 1 || b.Join[0] != (nsenter.NSPath{Type: unix.CLONE_NEWNET, Path: "/run/netns/x"}) {
		t.Errorf("joins %+v", b.Join)
	}
	if !b.Fork {
		t.Error("a new pid namespace needs the fork")
	}
	if want := "monotonic -5 7\nboottime 86400 0\n"; b.TimeOffsets != want {
		t.Errorf("time offsets %q, want %q", b.TimeOffsets, want)
	}

	noPid := createBootstrap(&specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}}})
	if noPid.Fork {
		t.Error("without pid or time namespace there is nothing to fork into")
	}
}

func TestHostID(t *testing.T) {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1000}, {ContainerID: 1000, HostID: 5000, Size: 1}}
	for _, c := range []struct {
		maps []specs.LinuxIDMapping
		id   uint32
		want int
	}{
		{nil, 0, 0},
		{maps, 0, 100000},
		{maps, 999, 100999},
		{maps, 1000, 5000},
		{maps, 1001, -1},
	} {
		if got := hostID(c.maps, c.id); got != c.want {
			t.Errorf("hostID(%v, %d) = %d, want %d", c.maps, c.id, got, c.want)
		}
	}
}

// os/exec moves the child's files onto fds 3, 4, … and parks some right
// above them, overwriting whatever the child had at those numbers. The
// binary the child runs must start even when the parent's handle on it
// has one of those numbers, as it does whenever a lower fd was free when
// the handle was opened: here every number from 3 to the handle's own
// gets another file in the child.
func TestExecPathAboveShuffleSurvivesFDShuffle(t *testing.T) {
	binary, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer binary.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	files := make([]*os.File, int(binary.Fd())-3+1)
	for i := range files {
		files[i] = devNull
	}
	path, fd, err := execPathAboveShuffle(binary, nil, files)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	const name = "TestExecPathAboveShuffleSurvivesFDShuffle"
	cmd := &exec.Cmd{Path: path, Args: []string{"libcontainer.test", "-test.list=^" + name + "$"}, ExtraFiles: files}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run the binary through %s with its handle at fd %d: %v: %s", path, binary.Fd(), err, out)
	}
	if got := strings.TrimSpace(string(out)); got != name {
		t.Fatalf("the child ran something else: %q", got)
	}
}

// The environment a hook gets from the C runner: the last entry of each
// variable, where it stands, entries without '=' kept; none where the
// config lists none, not the runtime's own.
func TestHookEnv(t *testing.T) {
	env := []string{"A=1", "B=2", "junk", "A=3", "", "C=", "B=4"}
	if got, want := hookEnv(env), []string{"junk", "A=3", "C=", "B=4"}; !slices.Equal(got, want) {
		t.Errorf("hookEnv(%q) = %q, want %q", env, got, want)
	}
	if got := hookEnv(nil); got != nil {
		t.Errorf("hookEnv(nil) = %q, want none", got)
	}
}
