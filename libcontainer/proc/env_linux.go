package proc

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/libcontainer/internal/openat2"
)

// defaultPath is searched for a command when the process's env has no
// PATH: the spec gives args[0] execvp's semantics, which fall back to a
// default search path. The env itself stays as the config gives it, as in
// runc.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Env builds the process environment: the spec's env with later duplicates
// winning in the first one's place, and HOME from id when the spec leaves
// it unset or empty, as runc does. Nothing else is added.
func Env(p *specs.Process, id *Identity) []string {
	position := make(map[string]int, len(p.Env))
	env := make([]string, 0, len(p.Env)+1)
	for _, kv := range p.Env {
		key, _, _ := strings.Cut(kv, "=")
		if i, seen := position[key]; seen {
			env[i] = kv
			continue
		}
		position[key] = len(env)
		env = append(env, kv)
	}
	if id == nil {
		return env
	}
	if i, set := position["HOME"]; !set {
		env = append(env, "HOME="+id.Home)
	} else if env[i] == "HOME=" {
		env[i] = "HOME=" + id.Home
	}
	return env
}

// LookPath finds name the way execve will see it inside the container,
// searching the PATH from env when name has no slash. Paths through procfs
// magic links (/proc/self/fd/N, /proc/self/exe, /proc/self/cwd) are refused:
// they can lead to a leaked host directory or the runtime binary
// (CVE-2024-21626, CVE-2019-5736).
func LookPath(name string, env []string) (string, error) {
	candidates, err := ProgramCandidates(name, env)
	if err != nil {
		return "", err
	}
	if len(candidates) == 1 && strings.Contains(name, "/") {
		if err := checkExecutable(name); err != nil {
			return "", fmt.Errorf("exec: %q: %w", name, err)
		}
		return name, nil
	}
	for _, candidate := range candidates {
		if checkExecutable(candidate) == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
}

// ProgramCandidates lists the paths execvp would try for name, in order:
// name itself when it has a slash, else name in each directory of the
// PATH from env (defaultPath without one).
func ProgramCandidates(name string, env []string) ([]string, error) {
	if name == "" {
		return nil, errors.New(`exec: "": executable file not found in $PATH`)
	}
	if strings.Contains(name, "/") {
		return []string{name}, nil
	}
	path := defaultPath
	for _, kv := range env {
		if value, isPath := strings.CutPrefix(kv, "PATH="); isPath {
			path = value
		}
	}
	var candidates []string
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, name)
		if dir == "." {
			candidate = "./" + name
		}
		candidates = append(candidates, candidate)
	}
	return candidates, nil
}

// checkExecutable reports whether path is a regular file with an execute bit,
// resolved like execve would except that magic links are not followed.
func checkExecutable(path string) error {
	fd, err := openat2.Open(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ELOOP) {
		return errors.New("executable file not found: the path crosses a procfs magic link or too many symlinks")
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errors.New("not a regular file")
	}
	if st.Mode&0o111 == 0 {
		return errors.New("permission denied: no execute bit")
	}
	return nil
}

// Chdir makes cwd the working directory and verifies it lies inside the
// container's root. cwd is resolved within "/" (the container's root by
// now) and may not pass through a procfs magic link, so /proc/self/fd/N of an
// fd leaked from the host cannot take the process outside (CVE-2024-21626).
func Chdir(cwd string) error {
	fail := func(err error) error {
		return fmt.Errorf("chdir to cwd (%q) set in config.json failed: %w", cwd, err)
	}
	if !filepath.IsAbs(cwd) {
		return fail(errors.New("not an absolute path"))
	}
	dir, err := openInRoot("/", cwd, unix.O_DIRECTORY)
	if errors.Is(err, unix.ELOOP) {
		return fail(errors.New("the path crosses a procfs magic link or too many symlinks"))
	}
	if err != nil {
		return fail(err)
	}
	defer unix.Close(dir)
	if err := unix.Fchdir(dir); err != nil {
		return fail(err)
	}
	if err := verifyCwdInsideRoot(); err != nil {
		return fail(err)
	}
	return nil
}

// verifyCwdInsideRoot is the second line of defence should resolution ever be
// fooled: getcwd prefixes "(unreachable)" to a directory outside the root.
func verifyCwdInsideRoot() error {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Getcwd(buf)
	if err != nil {
		return fmt.Errorf("getcwd: %w", err)
	}
	if got := strings.TrimRight(string(buf[:n]), "\x00"); !strings.HasPrefix(got, "/") {
		return fmt.Errorf("the directory %q is outside the container", got)
	}
	return nil
}
