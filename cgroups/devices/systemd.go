package devices

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SystemdAllow is one entry of systemd's DeviceAllow= list: a device
// specifier and its access letters.
type SystemdAllow struct {
	Path  string
	Perms string
}

// SystemdPolicy is how systemd is to enforce a rule set: DevicePolicy
// "auto" with no list lets every device through, "strict" allows only the
// list. Skipped names the rules systemd cannot express; the cgroup driver
// still enforces them, but systemd's own filter denies those devices.
type SystemdPolicy struct {
	Policy  string
	Allow   []SystemdAllow
	Skipped []string
}

// ToSystemd converts rules into systemd's device properties, following
// the same last-rule-wins evaluation as the cgroup drivers. systemd only
// knows allow lists: a rule set that allows everything but a few devices
// becomes a strict policy with an empty list (runc's choice too, with a
// warning), since granting everything would be less safe than the rules.
// Specifiers: "/dev/char/M:m" for one device (systemd 240 and later parse
// the numbers from the path), "char-M" for a whole major, "char-*" for
// every device of a type; a rule for one minor of every major has no form.
func ToSystemd(rules []specs.LinuxDeviceCgroup) (SystemdPolicy, error) {
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		return SystemdPolicy{}, err
	}
	st := targetDevState(parsed)
	if st.allowDefault {
		if len(st.exceptions) == 0 {
			return SystemdPolicy{Policy: "auto"}, nil
		}
		return SystemdPolicy{Policy: "strict", Skipped: []string{"every device but the denied ones (systemd cannot deny selectively): denying all of them in systemd's filter"}}, nil
	}
	p := SystemdPolicy{Policy: "strict", Allow: []SystemdAllow{}}
	for _, k := range st.order {
		group := map[byte]string{'b': "block", 'c': "char"}[k.typ]
		perms := accessString(st.exceptions[k])
		switch {
		case k.major < 0 && k.minor < 0:
			p.Allow = append(p.Allow, SystemdAllow{Path: group + "-*", Perms: perms})
		case k.major < 0:
			p.Skipped = append(p.Skipped, fmt.Sprintf("%s %s: systemd has no rule for one minor of every major", k, perms))
		case k.minor < 0:
			p.Allow = append(p.Allow, SystemdAllow{Path: group + "-" + strconv.FormatInt(k.major, 10), Perms: perms})
		default:
			p.Allow = append(p.Allow, SystemdAllow{Path: fmt.Sprintf("/dev/%s/%d:%d", group, k.major, k.minor), Perms: perms})
		}
	}
	return p, nil
}
