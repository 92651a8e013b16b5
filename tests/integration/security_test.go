package integration

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copyFile copies src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	must(t, os.WriteFile(dst, data, mode))
}

// copySharedLibs puts the dynamic loader and libraries bin needs, if it
// is dynamically linked, into rootfs, so that the binary can run there (a
// glibc-based image has them).
func copySharedLibs(t *testing.T, bin, rootfs string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	if !dynamic {
		return
	}
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", bin, err)
	}
	for _, m := range regexp.MustCompile(`(/\S+) \(0x`).FindAllStringSubmatch(string(out), -1) {
		copyFile(t, m[1], filepath.Join(rootfs, m[1]), 0o755)
	}
}

// fullPipe returns a pipe whose buffer is full: a process writing to the
// write end blocks until the read end is drained.
func fullPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	var p [2]int
	must(t, unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK))
	chunk := make([]byte, 4096)
	for {
		if _, err := unix.Write(p[1], chunk); err != nil {
			break
		}
	}
	must(t, unix.SetNonblock(p[0], false))
	must(t, unix.SetNonblock(p[1], false))
	r, w = os.NewFile(uintptr(p[0]), "pipe-r"), os.NewFile(uintptr(p[1]), "pipe-w")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// TestRuntimeBinaryOnOverlay: a created container's init and an exec'd
// process start as our binary on the read-only overlay, not on a memfd
// copy of it, on every kernel the project tests on: the VMs run an older
// one than the host (6.1), which takes no "lowerdir+" and no layer outside
// the caller's mount namespace, and where each start once paid for the
// copy.
func TestRuntimeBinaryOnOverlay(t *testing.T) {
	r := newRuntime(t)
	logFile := filepath.Join(t.TempDir(), "log")
	r.Global = []string{"--debug", "--log", logFile}
	c := r.Create(newBundle(t, withArgs("sleep", "1000")))
	exe := fmt.Sprintf("/proc/%d/exe", c.Pid)
	target, err := os.Readlink(exe)
	noErr(t, err)
	var fs unix.Statfs_t
	noErr(t, unix.Statfs(exe, &fs))
	if fs.Type != unix.OVERLAYFS_SUPER_MAGIC || strings.HasPrefix(target, "/memfd:") {
		t.Errorf("the created init runs %s on a filesystem of type %#x, want the overlay (%#x)", target, fs.Type, unix.OVERLAYFS_SUPER_MAGIC)
	}
	r.Must("start", c.ID)
	r.Must("exec", c.ID, "true")
	log := readFile(t, logFile)
	if n := strings.Count(log, "the runtime binary runs from a read-only overlay"); n != 2 || strings.Contains(log, "memfd") {
		t.Errorf("the --debug log of create and exec names the overlay %d times (want 2, no memfd):\n%s", n, log)
	}
}

// TestRuntimeBinaryOverwrite is the CVE-2019-5736 regression test. The victim
// container's /bin/sh is `#!/proc/self/exe`, so starting it makes the kernel
// run the runtime binary itself as the container's process (the init's
// /proc/self/exe at execve). The victim then blocks writing its usage error to
// a full pipe. The attacker, a container in the same pid namespace, opens
// /proc/<victim>/exe for writing directly and as an O_PATH handle reopened
// through /proc/self/fd/N, before and after the victim exits. Every attempt
// must fail and the binary must be unchanged. The runtime run here is a copy,
// so that a regression damages only the copy.
func TestRuntimeBinaryOverwrite(t *testing.T) {
	r := newRuntime(t)
	work := t.TempDir()
	bin, before := runtimeCopy(t, work)
	shared, attacker := exeAttackBundle(t, work, bin)
	a := r.Create(attacker)
	r.Must("start", a.ID)

	// The victim joins the attacker's pid namespace.
	victim := newBundle(t, withArgs("/bin/sh"), joinPidNS(a.Pid))
	writeRootfsFile(t, victim, "bin/sh", "#!/proc/self/exe\n", 0o755)
	copySharedLibs(t, bin, filepath.Join(victim, "rootfs"))
	pr, pw := fullPipe(t)
	vid := newID(t)
	pidFile := filepath.Join(work, "victim.pid")
	create := exec.Command(bin, "--root", r.Root, "create", "--bundle", victim, "--pid-file", pidFile, vid)
	create.Stdout, create.Stderr = pw, pw
	if err := runWithTimeout(create, 30*time.Second); err != nil {
		t.Fatalf("create victim: %v", err)
	}
	pw.Close()
	vpid := readPidFile(t, pidFile)
	adopt(t, vpid)
	time.Sleep(200 * time.Millisecond) // the attacker's view of the created init
	if res := r.RunCmd(exec.Command(bin, "--root", r.Root, "start", vid)); res.Code != 0 {
		t.Fatalf("start victim: %s", res)
	}

	watchExeAttack(t, shared, a, pr, bin, before)
}

// watchExeAttack lets the attacker go at the victim blocked on pr's full
// pipe, releases the victim, stops the attacker once it retried after the
// victim's exit, and checks that every write attempt failed and bin is
// unchanged.
func watchExeAttack(t *testing.T, shared string, attacker *Container, pr *os.File, bin, before string) {
	t.Helper()
	logPath := filepath.Join(shared, "log")
	opened := regexp.MustCompile(`(?m)^opath pid=(\d+) ok target=.*$`)
	var victimNSPid string
	waitFor(t, 10*time.Second, "the attacker to get an O_PATH handle on the victim's exe", func() bool {
		data, _ := os.ReadFile(logPath)
		for _, m := range opened.FindAllStringSubmatch(string(data), -1) {
			if m[1] != "1" {
				victimNSPid = m[1]
				return true
			}
		}
		return false
	})
	// The victim stays blocked on the full pipe until it is drained: let
	// the attacker try its handle on the running victim first (under the
	// VM's emulation the victim could otherwise exit before that try).
	waitFor(t, 10*time.Second, "the attacker to reopen the running victim's exe", func() bool {
		data, _ := os.ReadFile(logPath)
		return strings.Contains(string(data), "reopen-running pid="+victimNSPid+" err=")
	})
	// Drain the pipe: the victim finishes its write and exits.
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	// Retrying after the victim exited gives ETXTBSY while a host
	// process (`oci-rt exec`, waiting for it) still runs the binary; the
	// attack goes on until that is gone too.
	waitFor(t, 10*time.Second, "the attacker to retry after every user of the binary exited", func() bool {
		data, _ := os.ReadFile(logPath)
		return strings.Contains(string(data), "reopen-exited pid="+victimNSPid+" err=EROFS") || strings.Contains(string(data), "OPENED-FOR-WRITE")
	})
	must(t, os.WriteFile(filepath.Join(shared, "stop"), nil, 0o644))
	attacker.Wait(t, 10*time.Second)

	log := readFile(t, logPath)
	t.Logf("attacker log:\n%s", log)
	if strings.Contains(log, "OPENED-FOR-WRITE") {
		t.Errorf("the container opened a process's exe for writing")
	}
	for _, want := range []string{"reopen-running pid=" + victimNSPid + " err=", "reopen-exited pid=" + victimNSPid + " err=EROFS", "direct pid=" + victimNSPid + " err="} {
		if !strings.Contains(log, want) {
			t.Errorf("attacker log lacks %q: the attack was not fully exercised", want)
		}
	}
	if after := sha256File(t, bin); after != before {
		t.Fatalf("runtime binary changed: sha256 %s, was %s", after, before)
	}
}

// runtimeCopy is the binary the attack tests run, a copy in work so that a
// regression damages only the copy, with its sha256 before the attack.
func runtimeCopy(t *testing.T, work string) (bin, sha string) {
	bin = filepath.Join(work, "oci-rt-copy")
	copyFile(t, rtBinary, bin, 0o755)
	return bin, sha256File(t, bin)
}

// exeAttackBundle makes the attacker's bundle: the payload, built static,
// as its process, attacking processes that run bin, with a shared dir
// (returned) for its log; edits change the attacker's config.
func exeAttackBundle(t *testing.T, work, bin string, edits ...func(*specs.Spec)) (shared, bundle string) {
	t.Helper()
	shared = filepath.Join(work, "shared")
	must(t, os.Mkdir(shared, 0o777))
	must(t, os.Chmod(shared, 0o777)) // writable by a user namespace's root too
	st, err := os.Stat(bin)
	must(t, err)
	args := withArgs("/exeattack", "-log", "/shared/log", "-stop", "/shared/stop", "-size", strconv.FormatInt(st.Size(), 10))
	bundle = newBundle(t, append([]func(*specs.Spec){args, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/shared", Type: "bind", Source: shared, Options: []string{"rbind", "rw"}})
	}}, edits...)...)
	// The mount point exists: a user namespace's root could not make it.
	must(t, os.Mkdir(filepath.Join(bundle, "rootfs", "shared"), 0o755))
	testdataBinary(t, "exeattack", filepath.Join(bundle, "rootfs", "exeattack"))
	return shared, bundle
}

// TestRuntimeBinaryOverwriteExec is TestRuntimeBinaryOverwrite through
// `exec`, the original CVE-2019-5736 path: the attacker is the container's
// own process, and `oci-rt exec ID /bin/sh` makes the exec'd process run
// the runtime binary inside the container.
func TestRuntimeBinaryOverwriteExec(t *testing.T) {
	r := newRuntime(t)
	work := t.TempDir()
	bin, before := runtimeCopy(t, work)
	shared, attacker := exeAttackBundle(t, work, bin)
	writeRootfsFile(t, attacker, "bin/sh", "#!/proc/self/exe\n", 0o755)
	copySharedLibs(t, bin, filepath.Join(attacker, "rootfs"))
	a := r.Create(attacker)
	r.Must("start", a.ID)

	pr, pw := fullPipe(t)
	execCmd := exec.Command(bin, "--root", r.Root, "exec", a.ID, "/bin/sh")
	execCmd.Stdout, execCmd.Stderr = pw, pw
	must(t, execCmd.Start())
	pw.Close()
	done := make(chan struct{}) // closed once reaped: only that it returns matters
	go func() { _ = execCmd.Wait(); close(done) }()
	watchExeAttack(t, shared, a, pr, bin, before)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = execCmd.Process.Kill()
		t.Errorf("oci-rt exec did not return")
	}
}

// runWithTimeout runs cmd and kills it if it takes longer than timeout.
func runWithTimeout(cmd *exec.Cmd, timeout time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	timer := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	return cmd.Wait()
}

// userNSSpec gives the container a user namespace mapping 0-65535 to
// 100000-165535, and a cgroup namespace so that cgroup2 can be mounted.
func userNSSpec(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace}, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

// openToUserNS makes the temp dirs above bundle searchable by the
// container's root (uid 100000 on the host): t.TempDir makes them 0700.
func openToUserNS(t *testing.T, bundle string) {
	t.Helper()
	for dir := bundle; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		must(t, os.Chmod(dir, 0o755))
	}
}

// TestInitNotDumpable (CVE-2016-9962): while the container is created, its
// init holds host resources and must not be dumpable. The kernel shows it:
// /proc/PID/status of a non-dumpable process is owned by root of the user
// namespace its memory belongs to (the host's, where the init was exec'd),
// while /proc/PID itself shows the real euid (100000, container root). The
// same check on the started process (dumpable) proves the observable.
func TestInitNotDumpable(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, withArgs("sleep", "30"), userNSSpec)
	openToUserNS(t, b)
	c := r.Create(b)
	owner := func(path string) uint32 {
		var st unix.Stat_t
		must(t, unix.Stat(path, &st))
		return st.Uid
	}
	dir, status := fmt.Sprintf("/proc/%d", c.Pid), fmt.Sprintf("/proc/%d/status", c.Pid)
	if d, s := owner(dir), owner(status); d != 100000 || s != 0 {
		t.Errorf("created init: %s owned by %d, %s by %d; want 100000 and 0 (non-dumpable)", dir, d, status, s)
	}
	r.Must("start", c.ID)
	waitFor(t, 5*time.Second, "the process to exec sleep", func() bool {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c.Pid))
		return strings.TrimSpace(string(comm)) == "sleep"
	})
	if s := owner(status); s != 100000 {
		t.Errorf("running process: %s owned by %d, want 100000 (dumpable after execve)", status, s)
	}
}

// TestCreatedInitFDs (CVE-2024-21626): in the created state, every fd of the
// init is one we expect, and everything above 2 is close-on-exec, so that
// only 0-2 reach the process at execve. Expected: 0-2 as given, the exec
// fifo, the Go runtime's anonymous inodes and O_PATH handles on the init's
// private procfs. The caller of create leaks a host directory fd (not
// close-on-exec, no --preserve-fds): the init must not hold it.
func TestCreatedInitFDs(t *testing.T) {
	t.Run("own-pidns", func(t *testing.T) { testCreatedInitFDs(t, newRuntime(t), nil) })
	// The process create starts in the joined pid namespace for an init
	// in a user namespace of its own, which only sets up.
	t.Run("joined-pidns-userns", func(t *testing.T) {
		r := newRuntime(t)
		testCreatedInitFDs(t, r, []func(*specs.Spec){joinPidNS(sharedPidNamespace(t, r)), userNSSpec})
	})
}

func testCreatedInitFDs(t *testing.T, r *Runtime, edits []func(*specs.Spec)) {
	leaked, err := os.Open(t.TempDir())
	must(t, err)
	defer leaked.Close()
	b := newBundle(t, edits...)
	openToUserNS(t, b)
	id := newID(t)
	out := tempFile(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := r.Command("create", "--bundle", b, "--pid-file", pidFile, id)
	// At fd 40, above every fd the runtime itself hands to the init.
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = out, out, make([]*os.File, 38)
	cmd.ExtraFiles[37] = leaked
	if res := r.RunCmd(cmd); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	c := &Container{ID: id, Pid: readPidFile(t, pidFile), Output: out.Name()}
	c.exited = adopt(t, c.Pid)
	waitBlockedOnFifo(t, c.Pid)
	fdDir := fmt.Sprintf("/proc/%d/fd", c.Pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(r.Root, c.ID, "exec.fifo")
	maxFD := 0
	for _, e := range entries {
		link := filepath.Join(fdDir, e.Name())
		target, err := os.Readlink(link)
		if err != nil {
			t.Fatal(err)
		}
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err != nil {
			t.Fatal(err)
		}
		maxFD = max(maxFD, fd)
		info := readFile(t, fmt.Sprintf("/proc/%d/fdinfo/%d", c.Pid, fd))
		var flags int
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				_, _ = fmt.Sscanf(strings.TrimSpace(v), "%o", &flags)
			}
		}
		if fd > 2 && flags&unix.O_CLOEXEC == 0 {
			t.Errorf("fd %d → %s is not close-on-exec: it would reach the process", fd, target)
		}
		var fs unix.Statfs_t
		_ = unix.Statfs(link, &fs)
		switch {
		case fd == 0 && target == os.DevNull, fd <= 2 && target == c.Output:
		case target == fifo:
		case strings.HasPrefix(target, "anon_inode:"):
		case flags&unix.O_PATH != 0 && fs.Type == unix.PROC_SUPER_MAGIC:
		default:
			t.Errorf("created init holds fd %d → %s (flags %o)", fd, target, flags)
		}
	}
	t.Logf("highest fd %d", maxFD)
}

// TestLeakedFDPaths (CVE-2024-21626): a cwd or an executable
// reached through /proc/self/fd/N (a runtime fd leaked into the init) is
// refused, or lands inside the container.
func TestLeakedFDPaths(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, withArgs("pwd", "-P"))
	for n := 3; n <= 64; n++ {
		editBundle(t, b, func(s *specs.Spec) { s.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", n) })
		res := runContainer(t, r, b)
		if res.Code == 0 && (!strings.HasPrefix(res.Stdout, "/") || strings.Contains(res.Stdout, "unreachable")) {
			t.Errorf("cwd /proc/self/fd/%d: %s: the process ran outside the container", n, res)
		}
		if res.Code != 0 && strings.Count(strings.TrimSuffix(res.Stderr, "\n"), "\n") != 0 {
			t.Errorf("cwd /proc/self/fd/%d: %s: want a one-line error", n, res)
		}
	}
	editBundle(t, b, func(s *specs.Spec) { s.Process.Cwd = "/" })
	for n := 3; n <= 20; n++ {
		editBundle(t, b, func(s *specs.Spec) {
			s.Process.Args = []string{fmt.Sprintf("/proc/self/fd/%d/../../bin/sh", n), "-c", "echo escaped"}
		})
		if res := runContainer(t, r, b); res.Code == 0 || strings.Contains(res.Stdout, "escaped") {
			t.Errorf("args via /proc/self/fd/%d: %s: want not found", n, res)
		}
	}
}

// TestSymlinkedProcSys (CVE-2019-19921, CVE-2023-27561): /proc or /sys as a
// symlink in the rootfs, pointing at a host directory, is refused, and the
// host directory gets no mount and no file.
func TestSymlinkedProcSys(t *testing.T) {
	r := newRuntime(t)
	for _, dir := range []string{"proc", "sys"} {
		victim := t.TempDir()
		b := newBundle(t)
		must(t, os.Remove(filepath.Join(b, "rootfs", dir)))
		must(t, os.Symlink(victim, filepath.Join(b, "rootfs", dir)))
		expectCreateFails(t, r, b, "/"+dir)
		if entries, _ := os.ReadDir(victim); len(entries) != 0 {
			t.Errorf("/%s symlink: host dir %s got %v", dir, victim, entries)
		}
		if mi := readFile(t, "/proc/self/mountinfo"); strings.Contains(mi, victim) {
			t.Errorf("/%s symlink: host dir %s is mounted on", dir, victim)
		}
	}
}

// TestNotProcfsAtProc (CVE-2019-16884): a tmpfs or a bind mount at /proc is
// refused.
func TestNotProcfsAtProc(t *testing.T) {
	r := newRuntime(t)
	for _, m := range []specs.Mount{
		{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/proc", Type: "bind", Source: "/proc", Options: []string{"rbind"}},
		{Destination: "/proc", Type: "bind", Source: t.TempDir(), Options: []string{"rbind"}},
	} {
		b := newBundle(t, func(s *specs.Spec) {
			for i := range s.Mounts {
				if s.Mounts[i].Destination == "/proc" {
					s.Mounts[i] = m
				}
			}
		})
		expectCreateFails(t, r, b, "/proc")
	}
}

// TestHostileDevNull (CVE-2025-31133): without a /dev tmpfs the rootfs's own
// /dev is used. A hostile /dev/null must either fail create or be replaced
// by the real null device before it masks anything: masked files read
// empty, /proc/sys stays read-only, the host's core_pattern is untouched.
func TestHostileDevNull(t *testing.T) {
	corePattern := readFile(t, "/proc/sys/kernel/core_pattern")
	r := newRuntime(t)
	for name, plant := range map[string]func(path string) error{
		"symlink to core_pattern": func(p string) error { return os.Symlink("/proc/sys/kernel/core_pattern", p) },
		"regular file":            func(p string) error { return os.WriteFile(p, nil, 0o666) },
		"wrong char device":       func(p string) error { return unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))) },
		"missing":                 func(string) error { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			b := newBundle(t, shell("stat -c '%F %t:%T' /dev/null; cat /proc/timer_list | wc -c; (echo x > /proc/sys/kernel/core_pattern) 2>&1; true"), func(s *specs.Spec) {
				var kept []specs.Mount
				for _, m := range s.Mounts {
					if !strings.HasPrefix(m.Destination, "/dev") {
						kept = append(kept, m)
					}
				}
				s.Mounts = kept
			})
			if err := plant(filepath.Join(b, "rootfs", "dev", "null")); err != nil {
				t.Fatal(err)
			}
			res := runContainer(t, r, b)
			if res.Code != 0 {
				checkFailure(t, res, "/dev/null")
			} else if want := "character special file 1:3\n0\n/bin/sh: can't create /proc/sys/kernel/core_pattern: Read-only file system\n"; res.Stdout != want {
				t.Errorf("%s: want %q", res, want)
			}
			if got := readFile(t, "/proc/sys/kernel/core_pattern"); got != corePattern {
				t.Fatalf("host core_pattern changed to %q", got)
			}
		})
	}
}

// TestSymlinkedDev (CVE-2026-41579): /dev a symlink to a host directory with a
// marker: the marker is untouched and nothing is created there.
func TestSymlinkedDev(t *testing.T) {
	r := newRuntime(t)
	outside := t.TempDir()
	marker := filepath.Join(outside, "marker")
	must(t, os.WriteFile(marker, []byte("untouched"), 0o644))
	b := newBundle(t, shell("ls -l /dev"))
	must(t, os.Remove(filepath.Join(b, "rootfs", "dev")))
	must(t, os.Symlink(outside, filepath.Join(b, "rootfs", "dev")))
	res := runContainer(t, r, b)
	t.Logf("symlinked /dev: %s", res)
	if entries, _ := os.ReadDir(outside); len(entries) != 1 || readFile(t, marker) != "untouched" {
		t.Errorf("host dir behind the /dev symlink now holds %v (marker %q)", entries, readFile(t, marker))
	}
	if mi := readFile(t, "/proc/self/mountinfo"); strings.Contains(mi, outside) {
		t.Errorf("host dir %s was mounted on", outside)
	}
}

// TestSymlinkMountTargets: absolute and dangling symlinks as
// mount targets resolve inside the rootfs.
func TestSymlinkMountTargets(t *testing.T) {
	r := newRuntime(t)
	outside := t.TempDir()
	b := newBundle(t, shell("cat /proc/self/mountinfo"), withTmpfs("/abs"), withTmpfs("/dangling/sub"))
	rootfs := filepath.Join(b, "rootfs")
	must(t, os.Symlink(outside, filepath.Join(rootfs, "abs")))                             // absolute, to a host path
	must(t, os.Symlink(filepath.Join(outside, "gone"), filepath.Join(rootfs, "dangling"))) // dangling
	res := runContainer(t, r, b)
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("created on the host through a symlink target: %v", entries)
	}
	if mi := readFile(t, "/proc/self/mountinfo"); strings.Contains(mi, outside) {
		t.Errorf("host dir %s was mounted on", outside)
	}
	if res.Code == 0 {
		// Resolved inside: the tmpfs is at the symlink's target in the rootfs.
		mountLine(t, res.Stdout, outside)
		if _, err := os.Stat(filepath.Join(rootfs, outside)); err != nil {
			t.Errorf("mount target not created inside the rootfs: %v", err)
		}
	} else {
		checkFailure(t, res, "abs")
	}
}

// TestCgroupfsReadOnly (CVE-2023-25809): /sys/fs/cgroup is read-only inside.
func TestCgroupfsReadOnly(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell("(mkdir /sys/fs/cgroup/escape) 2>&1; (echo 1 > /sys/fs/cgroup/cgroup.procs) 2>&1"))
	res := runContainer(t, r, b)
	if strings.Count(res.Stdout, "Read-only file system") != 2 {
		t.Errorf("%s: want both writes to fail with EROFS", res)
	}
}

// TestSysctlTargets (CVE-2025-52881): sysctls land on the container's own
// procfs files: the values show inside and the host's stay.
func TestSysctlTargets(t *testing.T) {
	host := readFile(t, "/proc/sys/kernel/msgmax")
	r := newRuntime(t)
	b := newBundle(t, shell("cat /proc/sys/kernel/msgmax /proc/sys/net/ipv4/ip_default_ttl"), func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"kernel.msgmax": "12345", "net.ipv4.ip_default_ttl": "42"}
	})
	if out := mustRun(t, r, b); out != "12345\n42\n" {
		t.Errorf("sysctls inside: %q", out)
	}
	if got := readFile(t, "/proc/sys/kernel/msgmax"); got != host {
		t.Errorf("host kernel.msgmax changed to %q", got)
	}
}

// nsLinks prints the container's namespace links, one "type link" a line.
const nsLinks = `for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done`

// TestAllNamespacesNew: all eight namespaces new, the
// user namespace with its maps (and a rootfs chowned to the mapped ids,
// which shows as root inside), the time namespace with a boottime offset
// visible in /proc/uptime.
func TestAllNamespacesNew(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell(nsLinks+`; echo ===; cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u %g' /bin/busybox; cut -d. -f1 /proc/uptime`),
		userNSSpec, func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 10 * 86400}, "monotonic": {Secs: 86400}}
		})
	openToUserNS(t, b)
	rootfs := filepath.Join(b, "rootfs")
	must(t, filepath.Walk(rootfs, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, 100000, 100000)
	}))
	out := mustRun(t, r, b)
	links, rest, _ := strings.Cut(out, "===\n")
	for _, line := range strings.Split(strings.TrimSpace(links), "\n") {
		typ, link, _ := strings.Cut(line, " ")
		host, err := os.Readlink("/proc/self/ns/" + typ)
		must(t, err)
		if link == "" || link == host {
			t.Errorf("%s namespace %q is the host's (%s)", typ, link, host)
		}
	}
	fields := strings.Fields(rest)
	want := []string{"0", "100000", "65536", "0", "100000", "65536", "0", "0"}
	if len(fields) != len(want)+1 || strings.Join(fields[:len(want)], " ") != strings.Join(want, " ") {
		t.Fatalf("maps, owner and uptime %q, want %v then the uptime", rest, want)
	}
	var up int
	_, _ = fmt.Sscan(fields[len(want)], &up)
	var hostUp int
	_, _ = fmt.Sscan(readFile(t, "/proc/uptime"), &hostUp)
	if d := up - hostUp; d < 10*86400-60 || d > 10*86400+60 {
		t.Errorf("uptime inside %d, host %d: want the 10-day boottime offset", up, hostUp)
	}
}

// TestJoinNamespaces: net, uts and ipc joined by path,
// those of a helper process the test starts in its own namespaces.
func TestJoinNamespaces(t *testing.T) {
	helper := exec.Command("unshare", "--net", "--uts", "--ipc", "sh", "-c", "hostname joined-uts && exec sleep 60")
	must(t, helper.Start())
	t.Cleanup(func() { _ = helper.Process.Kill(); _ = helper.Wait() })
	waitFor(t, 5*time.Second, "the helper to set its hostname", func() bool {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", helper.Process.Pid))
		return strings.TrimSpace(string(comm)) == "sleep"
	})
	r := newRuntime(t)
	b := newBundle(t, shell(nsLinks+"; hostname"), func(s *specs.Spec) {
		s.Hostname = ""
		for i, ns := range s.Linux.Namespaces {
			switch ns.Type {
			case specs.NetworkNamespace, specs.UTSNamespace, specs.IPCNamespace:
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/%s", helper.Process.Pid, map[specs.LinuxNamespaceType]string{
					specs.NetworkNamespace: "net", specs.UTSNamespace: "uts", specs.IPCNamespace: "ipc"}[ns.Type])
			}
		}
	})
	out := mustRun(t, r, b)
	for _, typ := range []string{"net", "uts", "ipc"} {
		want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", helper.Process.Pid, typ))
		must(t, err)
		if !strings.Contains(out, typ+" "+want+"\n") {
			t.Errorf("%s namespace: output %q, want the helper's %s", typ, out, want)
		}
	}
	if !strings.HasSuffix(out, "joined-uts\n") {
		t.Errorf("hostname in the joined uts namespace: output %q", out)
	}
}

// TestCgroupPlacementAndKillAll: the init runs in its default cgroup,
// <unified>/oci-rt-<hash of the root>-<id>, kill --all reaches every
// process (background sleepers too), and delete removes the cgroup.
func TestCgroupPlacementAndKillAll(t *testing.T) {
	r := newRuntime(t)
	// The init (pid 1 of its namespace) needs a handler to be killable by
	// SIGTERM; the sleepers die of the default action.
	c := r.Create(newBundle(t, shell("trap 'exit 0' TERM; sleep 100 & sleep 100 & wait")))
	r.Must("start", c.ID)
	procs := filepath.Join(cgroupDir(c.ID), "cgroup.procs")
	waitFor(t, 5*time.Second, "three processes in the cgroup", func() bool {
		data, _ := os.ReadFile(procs)
		return len(strings.Fields(string(data))) == 3
	})
	want := "0::" + strings.TrimPrefix(cgroupDir(c.ID), unifiedMount()) + "\n"
	if cg := readFile(t, fmt.Sprintf("/proc/%d/cgroup", c.Pid)); !strings.Contains(cg, want) || !strings.HasPrefix(want, "0::/oci-rt-") {
		t.Errorf("init's /proc/PID/cgroup %q, want %q, /oci-rt-…", cg, want)
	}
	pids := strings.Fields(readFile(t, procs))
	r.Must("kill", "--all", c.ID, "TERM")
	c.Wait(t, 10*time.Second)
	waitFor(t, 5*time.Second, "every process of the container to die", func() bool {
		for _, p := range pids {
			var pid int
			_, _ = fmt.Sscan(p, &pid)
			if pidAlive(pid) {
				return false
			}
		}
		return true
	})
	r.Must("delete", c.ID)
	if _, err := os.Stat(cgroupDir(c.ID)); !os.IsNotExist(err) {
		t.Errorf("cgroup %s after delete: %v", cgroupDir(c.ID), err)
	}
}

// TestDeviceFilter: the default device filter denies
// block devices and unlisted char devices even to a process that may
// mknod them, and allows /dev/null.
func TestDeviceFilter(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell(`mknod /dev/sda b 8 0 && (head -c1 /dev/sda) 2>&1
mknod /dev/tun c 10 200 && (cat /dev/tun) 2>&1
echo ok > /dev/null && echo null ok`), func(s *specs.Spec) {
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, "CAP_MKNOD")
		c.Effective = append(c.Effective, "CAP_MKNOD")
		c.Permitted = append(c.Permitted, "CAP_MKNOD")
	})
	want := "head: /dev/sda: Operation not permitted\ncat: can't open '/dev/tun': Operation not permitted\nnull ok\n"
	if out := mustRun(t, r, b); out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

// TestSpecAndFeatures: `spec` configs are accepted
// (--rootless too), and `features` lists only what works: every namespace
// it lists can be created, every mount option it lists passes validation.
func TestSpecAndFeatures(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, shell("echo spec ok"))
	if out := mustRun(t, r, b); out != "spec ok\n" {
		t.Errorf("default spec: %q", out)
	}
	rootless := newBundle(t)
	must(t, os.Remove(filepath.Join(rootless, "config.json")))
	if res := r.Run("spec", "--rootless", "--bundle", rootless); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	editBundle(t, rootless, func(s *specs.Spec) { s.Process.Terminal = false })
	c := r.Create(rootless)
	r.Must("delete", c.ID)

	var f struct {
		MountOptions []string `json:"mountOptions"`
		Linux        struct {
			Namespaces []string `json:"namespaces"`
		} `json:"linux"`
	}
	must(t, json.Unmarshal([]byte(r.Must("features")), &f))
	if len(f.Linux.Namespaces) == 0 || len(f.MountOptions) == 0 {
		t.Fatalf("features lists no namespaces or mount options: %+v", f)
	}
	// Every listed namespace at once, new.
	b = newBundle(t, shell(nsLinks), userNSSpec, func(s *specs.Spec) {
		s.Linux.Namespaces = nil
		for _, ns := range f.Linux.Namespaces {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.LinuxNamespaceType(ns)})
		}
	})
	openToUserNS(t, b)
	if out := mustRun(t, r, b); strings.Count(out, "\n") != 8 {
		t.Errorf("namespaces %v: output %q", f.Linux.Namespaces, out)
	}

	// One mount per listed option, so that a refusal names the option: a
	// bind mount first, and a tmpfs for an option refused on a bind (such
	// as tmpfs-only ones). An option refused on both is listed wrongly.
	src := t.TempDir()
	onTmpfs := map[string]bool{}
	for attempt := 0; attempt <= len(f.MountOptions); attempt++ {
		b = newBundle(t, withArgs("true"), func(s *specs.Spec) {
			for i, opt := range f.MountOptions {
				m := specs.Mount{Destination: fmt.Sprintf("/opt%d", i), Type: "bind", Source: src, Options: []string{"bind", opt}}
				if onTmpfs[opt] {
					m = specs.Mount{Destination: fmt.Sprintf("/opt%d", i), Type: "tmpfs", Source: "tmpfs", Options: []string{opt}}
				}
				if opt == "idmap" || opt == "ridmap" {
					m.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
					m.GIDMappings = m.UIDMappings
				}
				s.Mounts = append(s.Mounts, m)
			}
		})
		res := r.Run("run", "--bundle", b, newID(t))
		if res.Code == 0 {
			return
		}
		var idx int
		if _, err := fmt.Sscanf(errorMessage(res.Stderr), "mounts[%d]", &idx); err == nil {
			// Refused by validation.
			opt := f.MountOptions[idx-defaultMountCount(t)]
			if onTmpfs[opt] {
				t.Fatalf("features lists mount option %q, refused on a bind and on a tmpfs: %s", opt, res)
			}
			onTmpfs[opt] = true
			continue
		}
		// Accepted by validation but failed when mounted: remount, say,
		// needs a mount already at the target. It leaves the test.
		if m := regexp.MustCompile(` on /opt(\d+): `).FindStringSubmatch(errorMessage(res.Stderr)); m != nil {
			_, _ = fmt.Sscan(m[1], &idx)
			t.Logf("mount option %q passes validation but fails alone on an empty target: %s", f.MountOptions[idx], res.Stderr)
			f.MountOptions = append(f.MountOptions[:idx:idx], f.MountOptions[idx+1:]...)
			continue
		}
		t.Fatalf("the listed mount options %v fail: %s", f.MountOptions, res)
	}
	t.Fatalf("mount options still fail after %d attempts", len(f.MountOptions)+1)
}

// defaultMountCount is how many mounts `oci-rt spec` puts in a config.
func defaultMountCount(t *testing.T) int {
	t.Helper()
	var s specs.Spec
	must(t, json.Unmarshal([]byte(readFile(t, filepath.Join(newBundle(t), "config.json"))), &s))
	return len(s.Mounts)
}

// TestHostileConsole (CVE-2025-52565): a terminal container whose /dev/pts is
// a plain directory from the rootfs with `0` a symlink to core_pattern and
// a ptmx node. Either create fails, or /dev/console is a real pty slave;
// in no case is core_pattern mounted over or written. (The kernel gives no
// pty through a ptmx node outside devpts, so through the binary this is
// the fail-closed path; the rootfs package's tests drive the symlinked
// slave into MountConsole directly.)
func TestHostileConsole(t *testing.T) {
	corePattern := readFile(t, "/proc/sys/kernel/core_pattern")
	r := newRuntime(t)
	b := newBundle(t, shell("stat -c '%F %t' /dev/console"), func(s *specs.Spec) {
		s.Process.Terminal = true
		var kept []specs.Mount
		for _, m := range s.Mounts {
			if !strings.HasPrefix(m.Destination, "/dev") {
				kept = append(kept, m)
			}
		}
		s.Mounts = kept
	})
	pts := filepath.Join(b, "rootfs", "dev", "pts")
	must(t, os.MkdirAll(pts, 0o755))
	must(t, unix.Mknod(filepath.Join(pts, "ptmx"), unix.S_IFCHR|0o666, int(unix.Mkdev(5, 2))))
	must(t, os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(pts, "0")))
	res := runContainer(t, r, b)
	if res.Code != 0 {
		checkFailure(t, res, "ptmx")
	} else if !strings.Contains(res.Stdout, "character special file 88") { // 136 = 0x88
		t.Errorf("%s: /dev/console is not a pty slave", res)
	}
	if got := readFile(t, "/proc/sys/kernel/core_pattern"); got != corePattern {
		t.Fatalf("host core_pattern changed to %q", got)
	}
	if mi := readFile(t, "/proc/self/mountinfo"); strings.Contains(mi, "core_pattern") {
		t.Errorf("something is mounted on core_pattern:\n%s", mi)
	}
}
