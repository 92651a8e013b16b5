package hugeheap

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMadvCollapseIsTheKernels(t *testing.T) {
	if madvCollapse != unix.MADV_COLLAPSE {
		t.Fatalf("madvCollapse is %d, MADV_COLLAPSE is %d", madvCollapse, unix.MADV_COLLAPSE)
	}
}

func TestAllowedBySetting(t *testing.T) {
	for setting, want := range map[string]bool{
		"[always] madvise never\n": true,
		"always [madvise] never\n": true,
		"always madvise [never]\n": false,
		"":                         false, // no file: no transparent huge pages
		"always madvise never\n":   false,
	} {
		if got := allowedBySetting(setting); got != want {
			t.Errorf("allowedBySetting(%q) = %v, want %v", setting, got, want)
		}
	}
}

// An init must take the CLI's answer and never read the setting: it may
// already be in the container's mount namespace.
func TestDecideTakesTheParentsAnswer(t *testing.T) {
	never := func() string {
		t.Error("the setting was read although the parent answered")
		return "[always]"
	}
	if !decide("1", true, never) {
		t.Error(`decide("1", from the parent) = false`)
	}
	for _, env := range []string{"0", "", "yes"} {
		if decide(env, true, never) {
			t.Errorf("decide(%q, from the parent) = true", env)
		}
	}
	if !decide("", false, func() string { return "always [madvise] never" }) {
		t.Error("without the parent's answer, madvise in the setting was not taken")
	}
	if decide("", false, func() string { return "always madvise [never]" }) {
		t.Error("without the parent's answer, never in the setting was not taken")
	}
}

func TestEnvSaysWhatThisProcessDecided(t *testing.T) {
	want := EnvVar + "=0"
	if allowed {
		want = EnvVar + "=1"
	}
	if got := Env(true); got != want {
		t.Errorf("Env(true) = %q, want %q", got, want)
	}
	if got := Env(false); got != EnvVar+"=0" {
		t.Errorf("Env(false) = %q, want %s=0 whatever this process decided", got, EnvVar)
	}
}

// This test binary ran the package's init like every runtime process: where
// the host allows huge pages, the region of its early heap is one.
func TestEarlyHeapIsOneHugePage(t *testing.T) {
	if !allowedBySetting(readSetting()) {
		if allowed || region != 0 {
			t.Fatalf("the host's setting %q forbids huge pages, yet the heap region %#x was collapsed", readSetting(), region)
		}
		return
	}
	if collapseErrno != 0 {
		t.Fatalf("MADV_COLLAPSE of the heap region %#x: %v", region, collapseErrno)
	}
	kb, err := anonHugeKB(region)
	if err != nil {
		t.Fatal(err)
	}
	if kb < regionSize/1024 {
		t.Fatalf("the mapping holding the heap region %#x has %d kB of huge pages, want at least %d", region, kb, regionSize/1024)
	}
}

// anonHugeKB is AnonHugePages of this process's mapping that holds addr.
func anonHugeKB(addr uintptr) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(fields[0], ":") {
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(addr) >= start && uint64(addr) < end
				continue
			}
		}
		if in && fields[0] == "AnonHugePages:" && len(fields) >= 2 {
			return strconv.Atoi(fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no mapping in /proc/self/smaps holds %#x", addr)
}
