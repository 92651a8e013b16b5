package proc

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# a comment
bob:x:1000:1000:Bob:/home/bob:/bin/sh
1000:x:0:0:named like a number:/root:/bin/sh
nohome:x:1001:1001:::/bin/sh
broken:x:notanumber:1:::
`

const testGroup = `root:x:0:
wheel:x:10:bob,alice
audio:x:29:alice,bob
users:x:100:
staff:x:50:carol
garbled:x:notanumber:bob
`

func accountRoot(t *testing.T, passwd, group string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"passwd": passwd, "group": group} {
		if content == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveUser(t *testing.T) {
	umask := uint32(0o027)
	root := accountRoot(t, testPasswd, testGroup)
	for _, tc := range []struct {
		name string
		user specs.User
		want Identity
	}{
		{"numeric uid and gid with a passwd entry", specs.User{UID: 1000, GID: 5},
			Identity{UID: 1000, GID: 5, Home: "/home/bob"}},
		{"numeric ids without an entry", specs.User{UID: 4242, GID: 4343, AdditionalGids: []uint32{7}},
			Identity{UID: 4242, GID: 4343, AdditionalGids: []uint32{7}, Home: "/"}},
		{"umask carried", specs.User{UID: 0, GID: 0, Umask: &umask},
			Identity{UID: 0, GID: 0, Home: "/root", Umask: &umask}},
		// The garbled group line lists bob too; a gid that is not a number is
		// skipped, never read as group 0.
		{"username adds member groups then the spec's", specs.User{Username: "bob", AdditionalGids: []uint32{99}},
			Identity{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 29, 99}, Home: "/home/bob"}},
		{"username with group name", specs.User{Username: "bob:staff"},
			Identity{UID: 1000, GID: 50, Home: "/home/bob"}},
		{"username with numeric group", specs.User{Username: "bob:77"},
			Identity{UID: 1000, GID: 77, Home: "/home/bob"}},
		// A user named "1000" exists with uid 0: a numeric user is never a name (CVE-2016-3697).
		{"numeric username is that uid", specs.User{Username: "1000"},
			Identity{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 29}, Home: "/home/bob"}},
		{"numeric username without entry keeps spec gid", specs.User{Username: "5000", GID: 6},
			Identity{UID: 5000, GID: 6, Home: "/"}},
		{"empty home becomes /", specs.User{Username: "nohome"},
			Identity{UID: 1001, GID: 1001, Home: "/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveUserIn(root, tc.user)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestResolveUserErrors(t *testing.T) {
	root := accountRoot(t, testPasswd, testGroup)
	for user, want := range map[string]string{
		"mallory":        "unable to find user mallory: no matching entries in /etc/passwd",
		"bob:nogroup":    "unable to find group nogroup: no matching entries in /etc/group",
		"broken":         "unable to find user broken",
		":10":            `invalid user ":10": expected user[:group]`,
		"bob:":           `invalid user "bob:": expected user[:group]`,
		"4294967295":     "unable to find user 4294967295",
		"-1":             "unable to find user -1",
		"99999999999999": "unable to find user 99999999999999",
	} {
		_, err := resolveUserIn(root, specs.User{Username: user})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", user, err, want)
		}
	}
}

func TestResolveUserMissingFiles(t *testing.T) {
	root := t.TempDir()
	got, err := resolveUserIn(root, specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{3}})
	if err != nil {
		t.Fatalf("numeric ids need no account files: %v", err)
	}
	if want := (Identity{UID: 1000, GID: 1000, AdditionalGids: []uint32{3}, Home: "/"}); !reflect.DeepEqual(*got, want) {
		t.Fatalf("got %+v, want %+v", *got, want)
	}
	if _, err := resolveUserIn(root, specs.User{Username: "bob"}); err == nil || !strings.Contains(err.Error(), "unable to find user bob") {
		t.Fatalf("name without passwd: %v", err)
	}
}

func TestResolveUserHostileFiles(t *testing.T) {
	t.Run("larger than the bound", func(t *testing.T) {
		root := accountRoot(t, testPasswd, "")
		f, err := os.OpenFile(filepath.Join(root, "etc", "passwd"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Sparse, so the test stays cheap.
		if err := f.Truncate(maxAccountFileSize + 1); err != nil {
			t.Fatal(err)
		}
		f.Close()
		_, err = resolveUserIn(root, specs.User{Username: "bob"})
		if err == nil || !strings.Contains(err.Error(), "/etc/passwd is larger than") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		root := accountRoot(t, "", "")
		if err := syscall.Mkfifo(filepath.Join(root, "etc", "passwd"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := resolveUserIn(root, specs.User{UID: 1})
		if err == nil || err.Error() != "/etc/passwd is not a regular file" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		root := accountRoot(t, "", "")
		if err := os.Mkdir(filepath.Join(root, "etc", "group"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := resolveUserIn(root, specs.User{Username: "1:wheel"})
		if err == nil || err.Error() != "/etc/group is not a regular file" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("symlink escaping the root stays inside", func(t *testing.T) {
		outside := accountRoot(t, "evil:x:0:0::/:/bin/sh\n", "")
		root := accountRoot(t, "", "")
		// Resolved in the root, the absolute target names root/<outside>, which does not exist.
		if err := os.Symlink(filepath.Join(outside, "etc", "passwd"), filepath.Join(root, "etc", "passwd")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../../../../../../../.."+filepath.Join(outside, "etc", "passwd"), filepath.Join(root, "etc", "group")); err != nil {
			t.Fatal(err)
		}
		if _, err := resolveUserIn(root, specs.User{Username: "evil"}); err == nil || !strings.Contains(err.Error(), "unable to find user evil") {
			t.Fatalf("the host file was read: %v", err)
		}
		if _, err := resolveUserIn(root, specs.User{Username: "0:evil"}); err == nil || !strings.Contains(err.Error(), "unable to find group evil") {
			t.Fatalf("the host file was read: %v", err)
		}
	})
	t.Run("long line and junk", func(t *testing.T) {
		junk := strings.Repeat("x", 1<<20) + "\n::::::\n\x00\x01:x:1:1\nbob:x:1000:1000::/home/bob:/bin/sh\n"
		root := accountRoot(t, junk, "")
		got, err := resolveUserIn(root, specs.User{Username: "bob"})
		if err != nil || got.UID != 1000 {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}
