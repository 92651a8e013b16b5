package libcontainer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/oci-rt/oci-rt/libcontainer/internal/criurpc"
	"github.com/oci-rt/oci-rt/nsenter"
	"golang.org/x/sys/unix"
)

// MinCriuVersion is the oldest CRIU checkpoint and restore use: older ones
// cannot freeze a cgroup v2 container, as major*10000+minor*100+sub.
const MinCriuVersion = 31500

// ErrCriuMissing is returned when there is no criu binary.
var ErrCriuMissing = errors.New("criu not found: checkpoint and restore need CRIU 3.15 or newer")

// Compiled on first use, not in the package init that every runtime
// process (each container init too) runs.
var criuVersionLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^Version:\s*(\d+)\.(\d+)(?:\.(\d+))?`)
})

// FindCriu returns the criu binary name (a path, or a name looked up in
// PATH; "" for "criu") stands for and its version, once it is new enough.
// The version comes from `criu --version`, which every CRIU prints the
// same way, rather than a swrk round trip.
func FindCriu(name string) (string, int, error) {
	if name == "" {
		name = "criu"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", 0, fmt.Errorf("%w (%s)", ErrCriuMissing, name)
	}
	var out bytes.Buffer
	cmd := exec.Command(path, "--version")
	cmd.Stdout = &out
	if err := nsenter.RunChild(cmd); err != nil {
		return "", 0, fmt.Errorf("%s --version: %w", path, err)
	}
	version, err := parseCriuVersion(out.String())
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	if version < MinCriuVersion {
		return "", 0, fmt.Errorf("%s is CRIU %s: checkpoint and restore need 3.15 or newer", path, FormatCriuVersion(version))
	}
	return path, version, nil
}

func parseCriuVersion(out string) (int, error) {
	m := criuVersionLine().FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no version in its --version output %q", strings.TrimSpace(out))
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	sub, _ := strconv.Atoi(m[3])
	return major*10000 + minor*100 + sub, nil
}

// FormatCriuVersion spells a version FindCriu returns as CRIU does.
func FormatCriuVersion(v int) string {
	return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100)
}

// criuRun is one `criu swrk` session. We start swrk ourselves (as
// go-criu's client would not): a restore gives CRIU the process's stdio,
// the images and work directories and a joined network namespace as fds,
// moves CRIU into the container's cgroup before the request, and receives
// the pty master of an orphan-pts-master notification as an fd.
type criuRun struct {
	cmd  *exec.Cmd
	sock *os.File
	// extra are the files CRIU gets from fd 4 on (3 is the socket), for
	// the fds CRIU takes as its own (inherit_fd); images_dir_fd and the
	// like it opens through our /proc/PID/fd instead.
	extra []*os.File
	// workDir is where CRIU writes its log; logName the log's name.
	workDir, logName string
}

// addFile hands f to CRIU and returns its fd number there.
func (r *criuRun) addFile(f *os.File) int32 {
	r.extra = append(r.extra, f)
	return int32(3 + len(r.extra))
}

// start launches swrk with stdio as its fds 0-2 (restore hands them in
// for the process's pipes) and the added files.
func (r *criuRun) start(criuPath string, stdio [3]*os.File) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("criu socket pair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "criu-client"), os.NewFile(uintptr(fds[1]), "criu-server")
	defer theirs.Close()
	cmd := exec.Command(criuPath, "swrk", "3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio[0], stdio[1], stdio[2]
	cmd.ExtraFiles = append([]*os.File{theirs}, r.extra...)
	if err := nsenter.StartChild(cmd.Start); err != nil {
		ours.Close()
		return fmt.Errorf("start criu: %w", err)
	}
	r.cmd, r.sock = cmd, ours
	return nil
}

// criuNotify answers CRIU's notifications; a nil one answers every
// notification with success.
type criuNotify func(script string, pid int32, fd *os.File) error

// do sends req and serves notifications until CRIU's final answer.
func (r *criuRun) do(req *criurpc.Req, notify criuNotify) (*criurpc.Resp, error) {
	reqType := req.Type
	for {
		if _, err := r.sock.Write(req.Marshal()); err != nil {
			return nil, fmt.Errorf("send request to criu: %w", err)
		}
		resp, fd, err := r.receive()
		if err != nil {
			return nil, err
		}
		if !resp.Success {
			if fd != nil {
				fd.Close()
			}
			return resp, r.failure(reqType, resp)
		}
		if resp.Type != criurpc.Notify || resp.Notify == nil {
			return resp, nil
		}
		script := resp.Notify.Script
		var nerr error
		if notify != nil {
			nerr = notify(script, resp.Notify.Pid, fd)
		}
		if fd != nil {
			fd.Close()
		}
		if nerr != nil {
			return nil, fmt.Errorf("criu %s: %w", script, nerr)
		}
		req = &criurpc.Req{Type: criurpc.Notify, NotifySuccess: true}
	}
}

// receive reads one message and the fd it may carry (the pty master of
// an orphan-pts-master notification).
func (r *criuRun) receive() (*criurpc.Resp, *os.File, error) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(r.sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("read from criu: %w", err)
	}
	if n == 0 {
		return nil, nil, r.exited()
	}
	var fd *os.File
	if oobn > 0 {
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) > 0 {
			if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) > 0 {
				fd = os.NewFile(uintptr(fds[0]), "criu-fd")
				for _, extra := range fds[1:] {
					unix.Close(extra)
				}
			}
		}
	}
	resp, err := criurpc.UnmarshalResp(buf[:n])
	if err != nil {
		if fd != nil {
			fd.Close()
		}
		return nil, nil, err
	}
	return resp, fd, nil
}

// exited is the error for a CRIU that closed the socket unanswered.
func (r *criuRun) exited() error {
	err := r.cmd.Wait()
	r.cmd = nil
	return fmt.Errorf("criu exited without an answer (%v)%s", err, r.logHint())
}

// failure is a one-line account of a failed request: CRIU's message or
// the last error in its log, and where the log is.
func (r *criuRun) failure(reqType criurpc.ReqType, resp *criurpc.Resp) error {
	what := reqType.String()
	msg := resp.CrErrmsg
	if msg == "" {
		msg = lastCriuError(filepath.Join(r.workDir, r.logName))
	}
	if msg == "" && resp.CrErrno != 0 {
		msg = unix.Errno(resp.CrErrno).Error()
	}
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Errorf("criu %s failed: %s%s", what, msg, r.logHint())
}

func (r *criuRun) logHint() string {
	if r.workDir == "" {
		return ""
	}
	return " (log: " + filepath.Join(r.workDir, r.logName) + ")"
}

// lastCriuError is the last "Error" line of a CRIU log, without CRIU's
// timestamp and pid prefix.
func lastCriuError(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "Error") {
			last = line
		}
	}
	if i := strings.Index(last, "Error"); i >= 0 {
		last = last[i:]
	}
	return strings.TrimSpace(last)
}

// close ends the session: CRIU exits once its socket closes.
func (r *criuRun) close() error {
	if r.sock != nil {
		r.sock.Close()
		r.sock = nil
	}
	if r.cmd == nil {
		return nil
	}
	err := r.cmd.Wait()
	r.cmd = nil
	return err
}
