package nsenter

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// startMappedSetUpByParent starts a stage set up by its parent in a new
// user namespace whose root is host uid and gid 100000, and a mount
// namespace, and takes it to where it waits for its plan.
func startMappedSetUpByParent(t *testing.T) *stage {
	t.Helper()
	s := startStage(t, &Bootstrap{CloneFlags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS, SetUpByParent: true})
	mapStageUserNamespace(t, s)
	if rep, err := s.conn.Recv(); err != nil || rep.Kind != KindPid {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	t.Cleanup(func() {
		s.sock.Close()
		_ = s.cmd.Wait()
	})
	return s
}

// A stage set up by its parent makes the filesystems it is asked for as
// itself, in its user namespace, which reads the ids of their options:
// uid=5 is the container's uid 5, host uid 100005, where the test's own
// tmpfs with the same option belongs to host uid 5. A setting or a type
// the kernel refuses comes back as the step and errno, with the context
// and the kernel's word on it, and the stage waits for the next request.
func TestMakeFilesystem(t *testing.T) {
	s := startMappedSetUpByParent(t)
	settings := []FilesystemSetting{{Key: "source", Value: "made"}, {Key: "mode", Value: "710"}, {Key: "uid", Value: "5"}}
	ownerOf := func(ctx *os.File) (uint32, uint32) {
		t.Helper()
		mnt, err := unix.Fsmount(int(ctx.Fd()), unix.FSMOUNT_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(mnt)
		var st unix.Stat_t
		if err := unix.Fstat(mnt, &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid, st.Mode & 0o7777
	}

	ctx, failed, err := s.conn.MakeFilesystem("tmpfs", settings)
	if err != nil || ctx == nil {
		t.Fatalf("tmpfs: context %v, step %d, %v", ctx, failed, err)
	}
	defer ctx.Close()
	if uid, mode := ownerOf(ctx); uid != 100005 || mode != 0o710 {
		t.Errorf("the stage's tmpfs: root owned by host uid %d, mode %o; want 100005, 710", uid, mode)
	}
	own, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	ownCtx := os.NewFile(uintptr(own), "own tmpfs")
	defer ownCtx.Close()
	for _, s := range settings {
		if err := unix.FsconfigSetString(own, s.Key, s.Value); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.FsconfigCreate(own); err != nil {
		t.Fatal(err)
	}
	if uid, _ := ownerOf(ownCtx); uid != 5 {
		t.Fatalf("the test's own tmpfs with uid=5 belongs to host uid %d: the comparison proves nothing", uid)
	}

	bad, failed, err := s.conn.MakeFilesystem("tmpfs", []FilesystemSetting{{Key: "mode", Value: "700"}, {Key: "nosuchoption", Flag: true}})
	if !errors.Is(err, unix.EINVAL) || failed != 1 || bad == nil {
		t.Fatalf("an unknown option: context %v, step %d, %v; want step 1, EINVAL", bad, failed, err)
	}
	defer bad.Close()
	buf := make([]byte, 256)
	if n, _ := unix.Read(int(bad.Fd()), buf); !strings.Contains(string(buf[:max(n, 0)]), "nosuchoption") {
		t.Errorf("the context holds no word on the refused option: %q", buf[:max(n, 0)])
	}

	none, _, err := s.conn.MakeFilesystem("nosuchfs", nil)
	if !errors.Is(err, unix.ENODEV) || none != nil {
		t.Fatalf("an unknown type: context %v, %v; want ENODEV", none, err)
	}

	// Still waiting: one more request is served.
	again, _, err := s.conn.MakeFilesystem("tmpfs", nil)
	if err != nil {
		t.Fatalf("a request after the refusals: %v", err)
	}
	again.Close()
}

func TestFilesystemRequestEncoding(t *testing.T) {
	got := encodeFilesystemRequest("tmpfs", []FilesystemSetting{{Key: "size", Value: "1m"}, {Key: "ro", Flag: true}})
	want := []byte("OCFS\x02\x00\x00\x00tmpfs\x00\x02\x00\x00\x00" +
		"\x00\x00\x00\x00size\x001m\x00" +
		"\x01\x00\x00\x00ro\x00\x00")
	if string(got) != string(want) {
		t.Errorf("encoded %q, want %q", got, want)
	}
	if s := (FilesystemSetting{Key: "size", Value: "1m"}).String() + " " + (FilesystemSetting{Key: "ro", Flag: true}).String(); s != "size=1m ro" {
		t.Errorf("settings read %q", s)
	}
}
