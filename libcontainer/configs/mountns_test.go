package configs

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// withHostMounts is the default spec without a mount namespace and without
// what only a mount namespace of its own can do.
func withHostMounts(s *specs.Spec) {
	withoutNamespace(s, specs.MountNamespace)
	s.Linux.MaskedPaths = nil
	s.Linux.ReadonlyPaths = nil
	s.Root.Readonly = false
}

func TestSharesRuntimeMountNamespace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*specs.Spec)
		want   bool
	}{
		{"new mount namespace", func(*specs.Spec) {}, false},
		{"no mount namespace", withHostMounts, true},
		{"joins the runtime's own", func(s *specs.Spec) {
			withoutNamespace(s, specs.MountNamespace)
			withNamespace(s, specs.LinuxNamespace{Type: specs.MountNamespace, Path: "/proc/self/ns/mnt"})
		}, true},
		{"joins another one", func(s *specs.Spec) {
			withoutNamespace(s, specs.MountNamespace)
			withNamespace(s, specs.LinuxNamespace{Type: specs.MountNamespace, Path: "/run/mntns/does-not-exist"})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := DefaultSpec(false)
			tc.mutate(spec)
			if got := SharesRuntimeMountNamespace(spec); got != tc.want {
				t.Fatalf("SharesRuntimeMountNamespace = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateSharedMountNamespace(t *testing.T) {
	t.Run("accepted without mount-only settings", func(t *testing.T) {
		spec := DefaultSpec(false)
		withHostMounts(spec)
		if err := Validate(spec); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
	t.Run("accepted with no namespace at all", func(t *testing.T) {
		spec := DefaultSpec(false)
		withHostMounts(spec)
		spec.Linux.Namespaces = nil
		spec.Hostname = ""
		if err := Validate(spec); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
	for _, tc := range []struct {
		name    string
		mutate  func(*specs.Spec)
		mention []string
	}{
		{"masked paths", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/proc/kcore"} }, []string{"linux.maskedPaths", "own mount namespace"}},
		{"readonly paths", func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"/proc/sys"} }, []string{"linux.readonlyPaths", "own mount namespace"}},
		{"readonly root", func(s *specs.Spec) { s.Root.Readonly = true }, []string{"root.readonly", "own mount namespace"}},
		{"rootfs propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "private" }, []string{"linux.rootfsPropagation", "host's mount propagation"}},
		{"new user namespace", withUserNamespace, []string{"user namespace needs the container's own mount namespace"}},
		{"joined runtime mount namespace with masked paths", func(s *specs.Spec) {
			withNamespace(s, specs.LinuxNamespace{Type: specs.MountNamespace, Path: "/proc/self/ns/mnt"})
			s.Linux.MaskedPaths = []string{"/proc/kcore"}
		}, []string{"linux.maskedPaths"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := DefaultSpec(false)
			withHostMounts(spec)
			tc.mutate(spec)
			err := Validate(spec)
			requireOneLineError(t, err, tc.mention...)
			t.Log(err)
		})
	}
}
