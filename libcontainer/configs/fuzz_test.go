package configs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzTimeLimit is far above what a 16 MiB config costs; it catches
// super-linear behaviour, not slowness.
const fuzzTimeLimit = 2 * time.Second

func requireOneLine(t *testing.T, err error) {
	t.Helper()
	if strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("error is not one line: %q", err)
	}
}

// FuzzLoadBundle feeds arbitrary bytes as config.json: LoadBundle must not
// panic, must finish in bounded time, and must return either a one-line
// error or a spec with an existing rootfs directory; whatever it returns
// must then survive Validate.
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
		start := time.Now()
		spec, _, rootfs, err := LoadBundle(bundle)
		if elapsed := time.Since(start); elapsed > fuzzTimeLimit {
			t.Fatalf("LoadBundle took %v", elapsed)
		}
		if err != nil {
			requireOneLine(t, err)
			return
		}
		if spec == nil {
			t.Fatal("no error and no spec")
		}
		if info, statErr := os.Lstat(rootfs); statErr != nil || !info.IsDir() || !filepath.IsAbs(rootfs) {
			t.Fatalf("rootfs %q is not an absolute directory (%v)", rootfs, statErr)
		}
		if err := Validate(spec); err != nil {
			requireOneLine(t, err)
		}
	})
}

// FuzzValidate runs Validate on whatever encoding/json makes of the input:
// it must not panic and its errors must be one line.
func FuzzValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, config []byte) {
		spec, err := decodeConfig(config)
		if err != nil {
			return
		}
		if err := Validate(spec); err != nil {
			requireOneLine(t, err)
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
		config := readSeed(t, seed)
		spec, err := decodeConfig(config)
		if err != nil {
			t.Fatalf("%s: %v", seed, err)
		}
		if err := Validate(spec); err != nil {
			t.Errorf("%s: %v", seed, err)
		}
	}
}

// readSeed decodes a `go test fuzz v1` file holding one []byte value.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, body, ok := strings.Cut(string(data), "\n")
	body = strings.TrimSpace(body)
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(body, "[]byte(") || !strings.HasSuffix(body, ")") {
		t.Fatalf("%s: not a single-[]byte fuzz corpus file", path)
	}
	s, err := strconv.Unquote(body[len("[]byte(") : len(body)-1])
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}
