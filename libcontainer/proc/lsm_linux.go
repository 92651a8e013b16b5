package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"
)

// applyLSMLabels sets the labels the kernel gives the process at execve.
func applyLSMLabels(p *specs.Process) error {
	if p.ApparmorProfile != "" {
		if err := setAppArmorExecProfile(p.ApparmorProfile); err != nil {
			return err
		}
	}
	if p.SelinuxLabel != "" {
		if !selinux.GetEnabled() {
			return ErrSELinuxDisabled
		}
		if err := selinux.SetExecLabel(p.SelinuxLabel); err != nil {
			return fmt.Errorf("set SELinux label %q: %w", p.SelinuxLabel, err)
		}
	}
	return nil
}

// ErrSELinuxDisabled refuses a process label on a host where it could not
// take effect, in runc's words: dropping it would run the process with
// less confinement than the config asks for.
var ErrSELinuxDisabled = errors.New("selinux label is specified in config, but selinux is disabled or not supported")

// AppArmorEnabled reports whether AppArmor confines processes on this host.
func AppArmorEnabled() bool {
	_, err := appArmorExecAttr()
	return err == nil
}

// appArmorExecAttr finds the thread-self attribute file through which the
// profile for the next execve is set. The per-LSM directory exists since Linux
// 5.1, where reading its "current" only succeeds with AppArmor active; older
// kernels share attr/exec and need the module parameter to tell.
func appArmorExecAttr() (string, error) {
	content, err := readProcThreadSelf("attr/apparmor/current")
	if err == nil && len(content) > 0 {
		return "attr/apparmor/exec", nil
	}
	if enabled, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && bytes.HasPrefix(enabled, []byte("Y")) {
		return "attr/exec", nil
	}
	return "", fmt.Errorf("AppArmor is not enabled")
}

func setAppArmorExecProfile(profile string) error {
	attr, err := appArmorExecAttr()
	if err != nil {
		return fmt.Errorf("apparmor profile %s requested but AppArmor is not enabled", profile)
	}
	if err := writeProcThreadSelf(attr, "exec "+profile); err != nil {
		return fmt.Errorf("set apparmor profile %s: %w", profile, err)
	}
	return nil
}

func readProcThreadSelf(subpath string) ([]byte, error) {
	f, closeThread, err := openThreadSelf(subpath, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer closeThread()
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4096))
}

func writeProcThreadSelf(subpath, value string) error {
	f, closeThread, err := openThreadSelf(subpath, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer closeThread()
	defer f.Close()
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("write /proc/thread-self/%s: %w", subpath, err)
	}
	return nil
}
