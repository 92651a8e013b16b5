package libcontainer

import (
	"encoding/json"
	"testing"
)

// A hook's stderr reads the same in an error that went through JSON (from
// the container's init) as in one that did not.
func TestValidUTF8AsJSONMakesIt(t *testing.T) {
	for _, s := range []string{"plain", "é ünï", "bad \xff byte", "cut \xc3", "two \xff\xfe bad", "\xed\xa0\x80 surrogate", "nul \x00 ctl \x01"} {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var viaJSON string
		if err := json.Unmarshal(data, &viaJSON); err != nil {
			t.Fatal(err)
		}
		if got := validUTF8(s); got != viaJSON {
			t.Errorf("%q: %q, JSON gives %q", s, got, viaJSON)
		}
	}
}
