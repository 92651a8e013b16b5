package cgroups

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	for list, want := range map[string][]int{
		"0":            {0},
		"0-3,7":        {0, 1, 2, 3, 7},
		"7,0-1":        {0, 1, 7},
		"5-5":          {5},
		" 0 , 2-3 ,":   {0, 2, 3}, // blanks and empty items, as the kernel and runc allow
		"1,,2":         {1, 2},
		"63-64":        {63, 64},
		"0,8191":       {0, 8191},
		"0001":         {1},
		"3,3,2-3":      {2, 3},
		"\t4\n":        {4},
		"128-130,1000": {128, 129, 130, 1000},
	} {
		got, err := ParseCPUList(list, MaxCPUs)
		if err != nil {
			t.Errorf("%q: %v", list, err)
			continue
		}
		var members []int
		for n := range len(got) * 64 {
			if got.IsSet(n) {
				members = append(members, n)
			}
		}
		if !slices.Equal(members, want) {
			t.Errorf("%q: CPUs %v, want %v", list, members, want)
		}
	}
}

func TestParseCPUListRejects(t *testing.T) {
	for list, want := range map[string]string{
		"":                            "names no CPU",
		" , ":                         "names no CPU",
		"a":                           `"a" is not a CPU number or range`,
		"0-x":                         `"0-x" is not a CPU number or range`,
		"1-":                          `"1-" is not a CPU number or range`,
		"-1":                          `"-1" is not a CPU number or range`,
		"+1":                          `"+1" is not a CPU number or range`,
		"1 - 3":                       `"1 - 3" is not a CPU number or range`,
		"0-7:2/4":                     `"0-7:2/4" is not a CPU number or range`,
		"0x1":                         `"0x1" is not a CPU number or range`,
		"1-2-3":                       `"1-2-3" is not a CPU number or range`,
		"3-1":                         `range "3-1" runs backwards`,
		"8192":                        "CPU 8192 is beyond the last supported, 8191",
		"0-99999":                     "CPU 99999 is beyond the last supported, 8191",
		"1" + strings.Repeat("0", 30): "is beyond the last supported, 8191",
	} {
		if _, err := ParseCPUList(list, MaxCPUs); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", list, err, want)
		}
	}
}

// The limit is the caller's: a node list says "node".
func TestParseNodeListLimit(t *testing.T) {
	if _, err := ParseNodeList("0-1023", MaxNodes); err != nil {
		t.Errorf("every node: %v", err)
	}
	if _, err := ParseNodeList("1024", MaxNodes); err == nil || err.Error() != "node 1024 is beyond the last supported, 1023" {
		t.Errorf("node 1024: %v", err)
	}
	if _, err := ParseNodeList("x", MaxNodes); err == nil || err.Error() != `"x" is not a node number or range` {
		t.Errorf("node x: %v", err)
	}
}

func TestBitmapBytes(t *testing.T) {
	for list, want := range map[string][]byte{
		"0":        {0x01},
		"0-2,7,9":  {0x87, 0x02},
		"2-3":      {0x0c},
		"8":        {0x00, 0x01},
		"63":       {0, 0, 0, 0, 0, 0, 0, 0x80},
		"64":       {0, 0, 0, 0, 0, 0, 0, 0, 0x01},
		"0,70":     {0x01, 0, 0, 0, 0, 0, 0, 0, 0x40},
		"120-127":  append(make([]byte, 15), 0xff),
		"0,1000":   append(append([]byte{0x01}, make([]byte, 124)...), 0x01),
		"999-1000": append(append([]byte{}, make([]byte, 124)...), 0x80, 0x01),
	} {
		got, err := ParseCPUList(list, MaxCPUs)
		if err != nil {
			t.Fatalf("%q: %v", list, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%q: bytes %x, want %x", list, got.Bytes(), want)
		}
	}
}
