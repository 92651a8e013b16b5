package configs

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const runcBinary = "/usr/sbin/runc"

func TestDefaultSpecValidatesAndRoundTrips(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		spec := DefaultSpec(rootless)
		if err := Validate(spec); err != nil {
			t.Errorf("DefaultSpec(%v) fails Validate: %v", rootless, err)
		}
		data, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := decodeConfig(data)
		if err != nil {
			t.Fatalf("DefaultSpec(%v) does not decode back: %v", rootless, err)
		}
		if !reflect.DeepEqual(decoded, spec) {
			t.Errorf("DefaultSpec(%v) changed through JSON:\n got %+v\nwant %+v", rootless, decoded, spec)
		}
		if err := checkVersion(decoded.Version); err != nil {
			t.Errorf("DefaultSpec(%v): %v", rootless, err)
		}
	}
}

// DefaultSpec returns a fresh value each time: the CLI may edit it.
func TestDefaultSpecIsNotShared(t *testing.T) {
	first := DefaultSpec(false)
	first.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	first.Mounts[0].Destination = "/elsewhere"
	second := DefaultSpec(false)
	if second.Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE" || second.Mounts[0].Destination != "/proc" {
		t.Fatal("editing one DefaultSpec changed the next")
	}
	if second.Process.Capabilities.Effective[0] != "CAP_AUDIT_WRITE" {
		t.Fatal("capability sets share one backing array")
	}
}

// TestDefaultSpecMatchesRunc compares DefaultSpec with the config the
// installed runc writes, field by field, allowing only the documented
// differences (see DefaultSpec).
func TestDefaultSpecMatchesRunc(t *testing.T) {
	if _, err := os.Stat(runcBinary); err != nil {
		t.Fatalf("%s is needed to compare against `runc spec` (Debian package runc): %v", runcBinary, err)
	}
	for _, rootless := range []bool{false, true} {
		runcSpec := runcDefaultSpec(t, rootless)
		ours := asGenericJSON(t, DefaultSpec(rootless))

		if ours["ociVersion"] != specs.Version {
			t.Errorf("rootless=%v: ociVersion = %v, want %s", rootless, ours["ociVersion"], specs.Version)
		}
		if ours["hostname"] != "oci-rt" || runcSpec["hostname"] != "runc" {
			t.Errorf("rootless=%v: hostname ours %v, runc's %v", rootless, ours["hostname"], runcSpec["hostname"])
		}
		// The differences DefaultSpec documents.
		for _, doc := range []map[string]any{runcSpec, ours} {
			delete(doc, "ociVersion")
			delete(doc, "hostname")
		}
		caps := runcSpec["process"].(map[string]any)["capabilities"].(map[string]any)
		if _, ok := caps["inheritable"]; ok {
			t.Fatalf("rootless=%v: runc's default now has inheritable capabilities, so ambient ones would take effect; revisit DefaultSpec", rootless)
		}
		delete(caps, "ambient")

		if !reflect.DeepEqual(runcSpec, ours) {
			want, _ := json.MarshalIndent(runcSpec, "", " ")
			got, _ := json.MarshalIndent(ours, "", " ")
			t.Errorf("rootless=%v: DefaultSpec differs from runc spec:\n--- runc\n%s\n--- ours\n%s", rootless, want, got)
		}
	}
}

func runcDefaultSpec(t *testing.T, rootless bool) map[string]any {
	t.Helper()
	dir := t.TempDir()
	args := []string{"spec", "--bundle", dir}
	if rootless {
		args = append(args, "--rootless")
	}
	if out, err := exec.Command(runcBinary, args...).CombinedOutput(); err != nil {
		t.Fatalf("runc %s: %v: %s", strings.Join(args, " "), err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func asGenericJSON(t *testing.T, spec *specs.Spec) map[string]any {
	t.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}
