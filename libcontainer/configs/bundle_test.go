package configs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const minimalConfig = `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}}`

// makeBundle creates a bundle directory with a rootfs/ directory and, unless
// config is nil, a config.json holding it.
func makeBundle(t *testing.T, config []byte) string {
	t.Helper()
	bundle := t.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if config != nil {
		if err := os.WriteFile(filepath.Join(bundle, ConfigFile), config, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bundle
}

func TestLoadBundleRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		config  string
		mention []string
	}{
		{"empty file", "", []string{"config.json", "empty"}},
		{"only whitespace", " \n\t ", []string{"config.json", "empty"}},
		{"not JSON", "this is not json", []string{"config.json", "not a JSON object"}},
		{"truncated", `{"ociVersion": "1.3.0", "root": {`, []string{"config.json", "invalid JSON", "line 1"}},
		{"syntax error on line 3", "{\n\"ociVersion\": \"1.3.0\",\n\"root\": {\"path\" \"rootfs\"}}", []string{"invalid JSON at line 3"}},
		{"trailing garbage", minimalConfig + "}", []string{"invalid JSON"}},
		{"null", "null", []string{"config.json", "null"}},
		{"array", "[]", []string{"not a JSON object"}},
		{"string", `"x"`, []string{"not a JSON object"}},
		{"args not a list", `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "process": {"cwd": "/", "args": "sh"}}`,
			[]string{"field process.args", "string", "[]string"}},
		{"uid negative", `{"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "process": {"cwd": "/", "user": {"uid": -1}}}`,
			[]string{"field process.user.uid", "number -1", "uint32"}},
		{"root not an object", `{"ociVersion": "1.3.0", "root": "rootfs"}`, []string{"field root", "string"}},
		{"ociVersion a number", `{"ociVersion": 1, "root": {"path": "rootfs"}}`, []string{"field ociVersion", "number"}},
		{"10000-deep nesting", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), []string{"not a JSON object"}},
		{"10000-deep nesting in a field", `{"annotations": ` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat("}", 10001),
			[]string{"config.json", "nested deeper than 64 levels"}},
		{"ociVersion missing", `{"root": {"path": "rootfs"}}`, []string{"ociVersion is missing"}},
		{"ociVersion major 2", `{"ociVersion": "2.0.0", "root": {"path": "rootfs"}}`, []string{`ociVersion "2.0.0"`, "major version 2"}},
		{"ociVersion major 0", `{"ociVersion": "0.5.0", "root": {"path": "rootfs"}}`, []string{"major version 0"}},
		{"ociVersion newer minor", `{"ociVersion": "1.4.0", "root": {"path": "rootfs"}}`, []string{`ociVersion "1.4.0"`, "newer than the supported 1.3.0"}},
		{"ociVersion garbage", `{"ociVersion": "latest", "root": {"path": "rootfs"}}`, []string{`ociVersion "latest"`, "MAJOR.MINOR.PATCH"}},
		{"ociVersion two parts", `{"ociVersion": "1.0", "root": {"path": "rootfs"}}`, []string{"MAJOR.MINOR.PATCH"}},
		{"root missing", `{"ociVersion": "1.3.0"}`, []string{"root.path is missing"}},
		{"root path empty", `{"ociVersion": "1.3.0", "root": {"path": ""}}`, []string{"root.path is missing"}},
		{"root path missing dir", `{"ociVersion": "1.3.0", "root": {"path": "nope"}}`, []string{`root.path "nope"`, "does not exist"}},
		{"root path NUL", `{"ociVersion": "1.3.0", "root": {"path": "root\u0000fs"}}`, []string{"NUL"}},
		{"root path newline", `{"ociVersion": "1.3.0", "root": {"path": "a\nb"}}`, []string{`root.path "a\nb"`, "does not exist"}},
		{"root path is a file", `{"ociVersion": "1.3.0", "root": {"path": "config.json"}}`, []string{"not a directory"}},
		{"root path is host /", `{"ociVersion": "1.3.0", "root": {"path": "/"}}`, []string{"host's /"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := makeBundle(t, []byte(tc.config))
			start := time.Now()
			spec, _, _, err := LoadBundle(bundle)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("LoadBundle took %v", elapsed)
			}
			if spec != nil {
				t.Errorf("got a spec along with the error")
			}
			requireOneLineError(t, err, tc.mention...)
			t.Log(err)
		})
	}
}

func TestLoadBundleMissingConfig(t *testing.T) {
	bundle := makeBundle(t, nil)
	_, _, _, err := LoadBundle(bundle)
	requireOneLineError(t, err, "config.json not found", bundle)

	_, _, _, err = LoadBundle(filepath.Join(bundle, "no-such-bundle"))
	requireOneLineError(t, err, "config.json not found")

	_, _, _, err = LoadBundle("")
	requireOneLineError(t, err, "bundle path is empty")
}

// A 64 MiB config is refused from its size, before it is read: the file
// here is sparse, and the bound on time shows it was not parsed.
func TestLoadBundleRejectsHugeConfig(t *testing.T) {
	bundle := makeBundle(t, []byte(minimalConfig))
	if err := os.Truncate(filepath.Join(bundle, ConfigFile), 64<<20); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, _, err := LoadBundle(bundle)
	requireOneLineError(t, err, "config.json is 67108864 bytes, more than the 16777216 allowed")
	if elapsed := time.Since(start); elapsed > 100*time.Millisecond {
		t.Errorf("rejecting a 64 MiB config took %v", elapsed)
	}
}

// A FIFO planted as config.json must neither block the runtime nor be read.
func TestLoadBundleRejectsFIFOConfig(t *testing.T) {
	bundle := makeBundle(t, nil)
	if err := syscall.Mkfifo(filepath.Join(bundle, ConfigFile), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, _, err := LoadBundle(bundle)
		done <- err
	}()
	select {
	case err := <-done:
		requireOneLineError(t, err, "config.json is not a regular file")
	case <-time.After(5 * time.Second):
		t.Fatal("LoadBundle blocked on a FIFO config.json")
	}
}

func TestLoadBundleRejectsSymlinkedRoot(t *testing.T) {
	bundle := makeBundle(t, []byte(`{"ociVersion": "1.3.0", "root": {"path": "link"}}`))
	if err := os.Symlink("rootfs", filepath.Join(bundle, "link")); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := LoadBundle(bundle)
	requireOneLineError(t, err, `root.path "link"`, "is a symlink")

	// The same with an absolute root path, and with a trailing slash, which
	// must not make the kernel follow the link for the check.
	for _, root := range []string{filepath.Join(bundle, "link"), filepath.Join(bundle, "link") + "/"} {
		config := `{"ociVersion": "1.3.0", "root": {"path": "` + root + `"}}`
		if err := os.WriteFile(filepath.Join(bundle, ConfigFile), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, _, err = LoadBundle(bundle)
		requireOneLineError(t, err, "is a symlink")
	}
}

func TestLoadBundleAccepts(t *testing.T) {
	bundle := makeBundle(t, []byte(minimalConfig))
	spec, absBundle, rootfs, err := LoadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Version != "1.3.0" || spec.Root.Path != "rootfs" {
		t.Errorf("decoded spec = %+v", spec)
	}
	if absBundle != bundle {
		t.Errorf("bundle = %q, want %q", absBundle, bundle)
	}
	if want := filepath.Join(bundle, "rootfs"); rootfs != want {
		t.Errorf("rootfs = %q, want %q", rootfs, want)
	}
}

// A relative bundle path comes back absolute, and symlinks above the root
// directory are resolved (the host's layout, not the bundle author's).
func TestLoadBundleResolvesPaths(t *testing.T) {
	realParent := t.TempDir()
	realRootfs := filepath.Join(realParent, "rootfs")
	if err := os.Mkdir(realRootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	linkParent := filepath.Join(t.TempDir(), "via-link")
	if err := os.Symlink(realParent, linkParent); err != nil {
		t.Fatal(err)
	}
	config := `{"ociVersion": "1.0.2-dev", "root": {"path": "` + linkParent + `/./rootfs"}}`
	bundle := makeBundle(t, []byte(config))
	t.Chdir(filepath.Dir(bundle))

	_, absBundle, rootfs, err := LoadBundle(filepath.Base(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if absBundle != bundle {
		t.Errorf("bundle = %q, want %q", absBundle, bundle)
	}
	if rootfs != realRootfs {
		t.Errorf("rootfs = %q, want %q", rootfs, realRootfs)
	}
}

func TestLoadBundleAcceptsSupportedVersions(t *testing.T) {
	for _, version := range []string{"1.0.0", "1.0.0-rc5", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.3.7+build.1"} {
		config := `{"ociVersion": "` + version + `", "root": {"path": "rootfs"}}`
		if _, _, _, err := LoadBundle(makeBundle(t, []byte(config))); err != nil {
			t.Errorf("ociVersion %q: %v", version, err)
		}
	}
}
