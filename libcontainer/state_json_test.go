//go:build goexperiment.jsonv2

package libcontainer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// stateByReflection is State without its JSON methods: encoding/json
// reads and writes it by reflection over the same fields and tags.
type stateByReflection State

// State's hand-written JSON reads every input as reflection reads
// State's fields (the same value, or an error for both), and writes
// every state it read the same bytes.
func FuzzStateJSONMatchesReflection(f *testing.F) {
	full, err := json.Marshal(stateByReflection{
		ID: "c", Bundle: "/b", Rootfs: "/b/rootfs", Created: time.Date(2026, 12, 6, 18, 0, 0, 123456789, time.UTC),
		Owner: "root", Annotations: map[string]string{"b": "2", "a": "<&>"}, Complete: true,
		CgroupPath: "/oci-rt/c", CgroupPaths: map[string]string{"memory": "/m", "": "/u"},
		SystemdUnit: "u.scope", SystemdSlice: "s.slice", NoCgroup: true, CgroupMark: "m", CgroupInode: 7,
		InitPid: 42, InitStartTime: 1 << 40, InitPidNS: 4026531836, BootID: "boot",
		HostRootfsMount: &rootfs.HostRootMount{ID: 3, UniqueID: 1 << 33},
		IntelRdtDirs:    []string{"/sys/fs/resctrl/c"}, NetDevices: []NetDevice{{HostName: "eth1", ContainerName: "eth0"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(full),
		`{"id":"c","bootId":""}`,
		`{"ID":"c","Complete":true,"INITPID":3,"cgrouppaths":{"a":"b"},"HOSTROOTFSMOUNT":{"ID":1,"UNIQUEID":2}}`,
		`{"id":"c","id":"d","annotations":{"a":"1"},"annotations":{"b":"2"},"hostRootfsMount":{"id":1},"hostRootfsMount":{"uniqueId":2}}`,
		`{"id":null,"complete":null,"initPid":null,"created":null,"annotations":null,"intelRdtDirs":null,"netDevices":null,"hostRootfsMount":null}`,
		`{"id":"c","unknown":{"deep":[1,2,{"x":null}]},"intelRdtDirs":["a",null],"netDevices":[null,{"hostName":"h","other":1}]}`,
		`{"id":"c","initPid":` + "99999999999999999999" + `}`,
		`{"id":"c","initPid":1.5}`,
		`{"id":"c","initPid":-1,"cgroupInode":-1}`,
		`{"id":"c","initPid":1e3}`,
		`{"id":"c","complete":"yes"}`,
		`{"id":"c","created":"2026-12-06"}`,
		`{"id":"c","created":5}`,
		`{"id":"c","annotations":[]}`,
		`{"id":"c","annotations":{"a":1}}`,
		`{"id":"c","intelRdtDirs":{}}`,
		`{"intelRdtDirs":[],"netDevices":[]}`,
		`{"id":"c","netDevices":[[]]}`,
		`{"id":"c","hostRootfsMount":[]}`,
		`{"id":"\u00e9\ud800x"}`,
		`{"id":"c"`,
		`null`,
		`[]`,
		`"c"`,
		`{"id":"c"} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var byHand State
		errHand := json.Unmarshal(data, &byHand)
		var byRefl stateByReflection
		errRefl := json.Unmarshal(data, &byRefl)
		if (errHand == nil) != (errRefl == nil) {
			t.Fatalf("%q: by hand %v, by reflection %v", data, errHand, errRefl)
		}
		if errHand != nil {
			return
		}
		if !reflect.DeepEqual(byHand, State(byRefl)) {
			t.Fatalf("%q: by hand\n%+v\nby reflection\n%+v", data, byHand, State(byRefl))
		}
		a, errA := json.Marshal(&byHand)
		b, errB := json.Marshal(&byRefl)
		if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
			t.Fatalf("%q: written by hand %s (%v), by reflection %s (%v)", data, a, errA, b, errB)
		}
	})
}
