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

// A hook's stderr is kept up to the limit, whatever the writes' sizes,
// and every write succeeds in full, so that the hook never blocks.
func TestHeadBufferKeepsTheHead(t *testing.T) {
	b := &headBuffer{max: 10}
	for _, w := range []string{"abc", "defgh", "ijklmn", "opq"} {
		if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("write %q: %d, %v", w, n, err)
		}
	}
	if got := string(b.buf); got != "abcdefghij" {
		t.Errorf("kept %q, want the first 10 bytes", got)
	}
}
