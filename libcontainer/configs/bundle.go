package configs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/quickjson"
)

const (
	// ConfigFile is the name of the config inside a bundle.
	ConfigFile = "config.json"

	// maxConfigSize bounds what LoadBundle reads: real configs are a few
	// KiB, even with large seccomp profiles well under 1 MiB.
	maxConfigSize = 16 << 20

	// maxConfigNesting is far deeper than any runtime-spec field (about 7
	// levels) but small enough that a hostile config cannot make the decoder
	// recurse for long.
	maxConfigNesting = 64

	supportedMajor    = 1
	maxSupportedMinor = 3
)

// LoadBundle reads and decodes <bundle>/config.json and locates the root
// filesystem. It returns the spec, the absolute bundle path and the absolute,
// symlink-free rootfs path. Only syntax, version and the root are checked
// here; Validate checks the rest.
func LoadBundle(bundle string) (*specs.Spec, string, string, error) {
	spec, absBundle, rootfs, err := loadBundle(bundle)
	if err != nil {
		return nil, "", "", presentable(err)
	}
	return spec, absBundle, rootfs, nil
}

func loadBundle(bundle string) (*specs.Spec, string, string, error) {
	if bundle == "" {
		return nil, "", "", errors.New("bundle path is empty")
	}
	absBundle, err := filepath.Abs(bundle)
	if err != nil {
		return nil, "", "", fmt.Errorf("bundle %q: %w", bundle, errnoOf(err))
	}
	data, err := readConfig(filepath.Join(absBundle, ConfigFile))
	if err != nil {
		return nil, "", "", err
	}
	spec, err := decodeConfig(data)
	if err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", ConfigFile, err)
	}
	if err := checkVersion(spec.Version); err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", ConfigFile, err)
	}
	rootfs, err := resolveRoot(absBundle, spec.Root)
	if err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return spec, absBundle, rootfs, nil
}

// readConfig refuses anything but a regular file of bounded size. O_NONBLOCK
// keeps a FIFO planted as config.json from blocking the open.
func readConfig(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s not found in bundle %q", ConfigFile, filepath.Dir(path))
		}
		return nil, fmt.Errorf("open %s: %w", ConfigFile, errnoOf(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", ConfigFile, errnoOf(err))
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", ConfigFile, info.Mode().Type())
	}
	if info.Size() > maxConfigSize {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", ConfigFile, info.Size(), maxConfigSize)
	}
	// A buffer of the size the stat gave, where io.ReadAll would grow one
	// from 512 bytes, copying the config at each step into fresh memory.
	// The file may grow between the stat and the read; the limit still
	// holds.
	var buf bytes.Buffer
	buf.Grow(int(info.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, maxConfigSize+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", ConfigFile, errnoOf(err))
	}
	data := buf.Bytes()
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s is more than the %d bytes allowed", ConfigFile, maxConfigSize)
	}
	return data, nil
}

func decodeConfig(data []byte) (*specs.Spec, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty file")
	}
	if trimmed[0] != '{' {
		if bytes.HasPrefix(trimmed, []byte("null")) && json.Valid(trimmed) {
			return nil, errors.New("top level is null, not an object")
		}
		return nil, errors.New("not a JSON object")
	}
	if err := checkNesting(data, maxConfigNesting); err != nil {
		return nil, err
	}
	var spec specs.Spec
	if err := quickjson.Unmarshal(data, &spec); err != nil {
		return nil, describeJSONError(data, err)
	}
	return &spec, nil
}

// checkNesting walks the raw bytes once, so that depth is bounded before
// encoding/json recurses into the document. Brackets inside strings do not
// count; malformed input is left for json.Unmarshal to report.
func checkNesting(data []byte, limit int) error {
	depth := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > limit {
				return fmt.Errorf("nested deeper than %d levels (at byte %d)", limit, i)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

func describeJSONError(data []byte, err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		line, col := lineAndColumn(data, syntaxErr.Offset)
		return fmt.Errorf("invalid JSON at line %d column %d: %s", line, col, firstLine(syntaxErr.Error()))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Errorf("field %s: JSON %s cannot be decoded into %s", field, typeErr.Value, typeErr.Type)
	}
	return fmt.Errorf("decode: %s", firstLine(err.Error()))
}

// lineAndColumn converts encoding/json's byte offset (just past the error)
// into 1-based coordinates a person can find in an editor.
func lineAndColumn(data []byte, offset int64) (int, int) {
	offset = min(max(offset, 1), int64(len(data)))
	before := data[:offset-1]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// checkVersion accepts the spec versions whose configs this runtime
// understands: 1.0.0 through 1.3.x, with any pre-release or build suffix
// (runc writes "1.0.2-dev").
func checkVersion(version string) error {
	if version == "" {
		return errors.New("ociVersion is missing")
	}
	core, _, _ := strings.Cut(version, "+")
	core, _, _ = strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	numbers := make([]uint64, 0, 3)
	for _, part := range parts {
		n, err := strconv.ParseUint(part, 10, 32)
		if err != nil {
			break
		}
		numbers = append(numbers, n)
	}
	if len(parts) != 3 || len(numbers) != 3 {
		return fmt.Errorf("ociVersion %q is not a MAJOR.MINOR.PATCH version", version)
	}
	if numbers[0] != supportedMajor {
		return fmt.Errorf("ociVersion %q: major version %d is not supported (only %d.x)", version, numbers[0], supportedMajor)
	}
	if numbers[1] > maxSupportedMinor {
		return fmt.Errorf("ociVersion %q is newer than the supported %s", version, specs.Version)
	}
	return nil
}

// resolveRoot applies the spec's rule that a relative root.path is relative
// to the bundle. The last component may not be a symlink: the bundle's author
// would otherwise choose, at any moment, which host directory becomes the
// container's /. Symlinks higher up are the host administrator's layout and
// are resolved.
func resolveRoot(absBundle string, root *specs.Root) (string, error) {
	if root == nil || root.Path == "" {
		return "", errors.New("root.path is missing")
	}
	if strings.IndexByte(root.Path, 0) >= 0 {
		return "", fmt.Errorf("root.path %q contains a NUL byte", root.Path)
	}
	path := root.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(absBundle, path)
	}
	path = filepath.Clean(path)
	info, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("root.path %q: %q does not exist", root.Path, path)
		}
		return "", fmt.Errorf("root.path %q: %w", root.Path, errnoOf(err))
	}
	if info.Mode()&os.ModeSymlink != 0 {
		return "", fmt.Errorf("root.path %q: %q is a symlink, which is not allowed", root.Path, path)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("root.path %q: %q is not a directory", root.Path, path)
	}
	// Only the parent is resolved: resolving the whole path would follow
	// a symlink swapped in at the last component since the Lstat. The
	// result names no symlink at all, and create opens it once refusing
	// any, so a later swap fails the create instead of redirecting it.
	parent, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return "", fmt.Errorf("root.path %q: resolve symlinks: %w", root.Path, errnoOf(err))
	}
	resolved := filepath.Join(parent, filepath.Base(path))
	if resolved == "/" {
		return "", fmt.Errorf("root.path %q resolves to the host's /", root.Path)
	}
	return resolved, nil
}

// errnoOf drops the path from an *os.PathError: callers name the path
// themselves, quoted, so that a path with a newline in it cannot split the
// message.
func errnoOf(err error) error {
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}
