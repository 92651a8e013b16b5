package configs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// requirePresentable fails unless err reads as one line of bounded length:
// it ends up on the user's terminal and in containerd's logs, whatever the
// config held.
func requirePresentable(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
	if len(msg) > maxErrorLength {
		t.Fatalf("error is %d bytes long, more than %d: %.200q...", len(msg), maxErrorLength, msg)
	}
}

// FuzzLoadBundle feeds arbitrary bytes as config.json: LoadBundle must not
// panic and must return either a presentable error or a spec with an
// existing absolute rootfs directory; whatever it returns must then survive
// Validate.
func FuzzLoadBundle(f *testing.F) {
	bundle := f.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		f.Fatal(err)
	}
	configPath := filepath.Join(bundle, ConfigFile)
	f.Fuzz(func(t *testing.T, config []byte) {
		if err := os.WriteFile(configPath, config, 0o644); err != nil {
			t.Fatal(err)
		}
		spec, _, rootfs, err := LoadBundle(bundle)
		if err != nil {
			requirePresentable(t, err)
			return
		}
		if spec == nil {
			t.Fatal("no error and no spec")
		}
		if info, statErr := os.Lstat(rootfs); statErr != nil || !info.IsDir() || !filepath.IsAbs(rootfs) {
			t.Fatalf("rootfs %q is not an absolute directory (%v)", rootfs, statErr)
		}
		if err := Validate(spec); err != nil {
			requirePresentable(t, err)
		}
	})
}

// FuzzValidate runs Validate on whatever encoding/json makes of the input:
// it must not panic, its errors must be presentable, and it must be
// deterministic: a second spec decoded from the same bytes, and the first
// one validated again (Validate must not change it), get the same answer.
func FuzzValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, config []byte) {
		spec, err := decodeConfig(config)
		if err != nil {
			return
		}
		twin, err := decodeConfig(config)
		if err != nil {
			t.Fatalf("the same bytes decode once and then fail: %v", err)
		}
		first := Validate(spec)
		if first != nil {
			requirePresentable(t, first)
		}
		for _, again := range []error{Validate(twin), Validate(spec)} {
			if errorText(again) != errorText(first) {
				t.Fatalf("Validate is not deterministic: %q, then %q", errorText(first), errorText(again))
			}
		}
	})
}

func errorText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// referenceID is the rule ValidateID implements, written as plainly as
// possible: runc's character set, at most NAME_MAX bytes, and not a name
// of the state directory itself or its parent.
var referenceID = regexp.MustCompile(`^[A-Za-z0-9_+.-]{1,255}$`)

// FuzzValidateID: ValidateID accepts exactly what the reference accepts,
// and its errors are presentable and say what they are about.
func FuzzValidateID(f *testing.F) {
	f.Fuzz(func(t *testing.T, id string) {
		want := referenceID.MatchString(id) && id != "." && id != ".."
		err := ValidateID(id)
		if got := err == nil; got != want {
			t.Fatalf("ValidateID(%q) = %v, the reference says valid=%v", id, err, want)
		}
		if err != nil {
			requirePresentable(t, err)
			if !strings.HasPrefix(err.Error(), "invalid container id ") {
				t.Fatalf("error %q does not say it is about the container id", err)
			}
		}
	})
}

// The fuzz seeds are kept as valid configs where they say so, so that the
// fuzzer starts from inputs that reach deep into Validate.
func TestFuzzSeedsReachValidate(t *testing.T) {
	seeds, err := filepath.Glob("testdata/fuzz/FuzzValidate/valid-*")
	if err != nil || len(seeds) == 0 {
		t.Fatalf("no valid-* seeds in testdata/fuzz/FuzzValidate (%v)", err)
	}
	for _, seed := range seeds {
		config := readSeed(t, seed, "[]byte")
		spec, err := decodeConfig([]byte(config))
		if err != nil {
			t.Fatalf("%s: %v", seed, err)
		}
		if err := Validate(spec); err != nil {
			t.Errorf("%s: %v", seed, err)
		}
	}
}

// The ID seeds named valid-* are IDs runc accepts, the others IDs it
// refuses: the seeds themselves pin the boundary down.
func TestFuzzValidateIDSeeds(t *testing.T) {
	seeds, err := filepath.Glob("testdata/fuzz/FuzzValidateID/*")
	if err != nil || len(seeds) == 0 {
		t.Fatalf("no seeds in testdata/fuzz/FuzzValidateID (%v)", err)
	}
	for _, seed := range seeds {
		id := readSeed(t, seed, "string")
		valid := strings.HasPrefix(filepath.Base(seed), "valid-")
		if err := ValidateID(id); (err == nil) != valid {
			t.Errorf("%s: ValidateID(%.80q) = %v, the seed's name says valid=%v", seed, id, err, valid)
		}
	}
}

// readSeed decodes a `go test fuzz v1` file holding one value of the given
// type ([]byte or string).
func readSeed(t *testing.T, path, typ string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, body, ok := strings.Cut(string(data), "\n")
	body = strings.TrimSpace(body)
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(body, typ+"(") || !strings.HasSuffix(body, ")") {
		t.Fatalf("%s: not a fuzz corpus file holding one %s", path, typ)
	}
	s, err := strconv.Unquote(body[len(typ)+1 : len(body)-1])
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}
