package seccomp

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

type cond struct {
	index uint
	op    specs.LinuxSeccompOperator
	value uint64 // the mask for MASKED_EQ
	datum uint64 // valueTwo, only for MASKED_EQ
}

type rule struct {
	ret   uint32
	conds []cond // ANDed; empty means unconditional
}

// subArch is one ABI's share of the profile.
type subArch struct {
	name  string
	info  archInfo
	rules map[uint32][]rule
	// max is the largest syscall number the profile names (any action),
	// 0 if none: runc's ENOSYS stub answers anything above it.
	max uint32
}

// Filter is a compiled seccomp program ready to install.
type Filter struct {
	prog   []unix.SockFilter
	flags  uintptr
	notify bool
}

// Instructions returns the BPF program.
func (f *Filter) Instructions() []unix.SockFilter { return f.prog }

// Flags returns the seccomp(2) SECCOMP_FILTER_FLAG_* bits Install uses.
func (f *Filter) Flags() uintptr { return f.flags }

// Compile builds the filter for the profile's architectures plus the native
// one.
func Compile(cfg *specs.LinuxSeccomp) (*Filter, error) {
	if NativeArch == "" {
		return nil, fmt.Errorf("seccomp: no syscall table for this architecture")
	}
	return compile(cfg, NativeArch)
}

// ruleSets turns one profile entry into rules. Like runc, several
// conditions on the same argument become separate rules (ORed), because
// libseccomp cannot AND two comparisons of one argument; Docker's and
// Podman's profiles are written for that behaviour.
func ruleSets(sc specs.LinuxSyscall, ret uint32) []rule {
	conds := make([]cond, 0, len(sc.Args))
	seen := map[uint]bool{}
	split := false
	for _, a := range sc.Args {
		c := cond{index: a.Index, op: a.Op, value: a.Value}
		if a.Op == specs.OpMaskedEqual {
			c.datum = a.ValueTwo
		}
		split = split || seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, c)
	}
	if !split {
		return []rule{{ret: ret, conds: conds}}
	}
	rules := make([]rule, len(conds))
	for i, c := range conds {
		rules[i] = rule{ret: ret, conds: []cond{c}}
	}
	return rules
}

// multiplexed returns the socketcall/ipc syscall and call code for name.
func multiplexed(info archInfo, name string) (nr uint32, code uint64, ok bool) {
	if c, ok := socketcallCodes[name]; ok && info.socketcall != 0 {
		return info.socketcall, c, true
	}
	if c, ok := ipcCodes[name]; ok && info.ipc != 0 {
		return info.ipc, c, true
	}
	return 0, 0, false
}

func buildSubArch(name string, cfg *specs.LinuxSeccomp, defRet uint32) (*subArch, error) {
	sa := &subArch{name: name, info: archs[name], rules: map[uint32][]rule{}}
	table := syscallTable(name)
	for _, sc := range cfg.Syscalls {
		ret, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("seccomp: syscall %q: %w", sc.Names, err)
		}
		rules := ruleSets(sc, ret)
		for _, n := range sc.Names {
			nr, direct := table[n]
			muxNr, code, muxed := multiplexed(sa.info, n)
			// libseccomp resolves multiplexed names to pseudo numbers on
			// these ABIs, so runc never counts them for the stub.
			if direct && !muxed && nr > sa.max {
				sa.max = nr
			}
			// runc drops rules that repeat the default action, so they
			// must not shadow other rules for the same syscall.
			if ret == defRet {
				continue
			}
			if direct {
				sa.rules[nr] = append(sa.rules[nr], rules...)
			}
			if muxed {
				for _, r := range rules {
					conds := []cond{{index: 0, op: specs.OpEqualTo, value: code}}
					for _, c := range r.conds {
						if c.index != 0 {
							conds = append(conds, c)
						}
					}
					sa.rules[muxNr] = append(sa.rules[muxNr], rule{ret: r.ret, conds: conds})
				}
			}
		}
	}
	return sa, nil
}

// region is a range of syscall numbers within one AUDIT_ARCH whose
// ENOSYS stub and rules come from the given sub-architectures (nil: none).
type region struct {
	lo, hi       uint32
	stub, filter *subArch
}

// target is what a syscall number leads to: a constant verdict or rules.
type target struct {
	ret   uint32
	rules []rule
	base  uint32 // verdict when no rule matches
	info  archInfo
}

func (t target) constant() bool { return t.rules == nil }

type interval struct {
	lo, hi uint32
	t      target
}

func syscallTarget(rules []rule, defRet uint32, info archInfo) target {
	// libseccomp keeps the first unconditional rule of a syscall and drops
	// every conditional one next to it.
	for _, r := range rules {
		if len(r.conds) == 0 {
			return target{ret: r.ret}
		}
	}
	return target{rules: rules, base: defRet, info: info}
}

func (r region) intervals(stub bool, defRet, badArch, enosys uint32) []interval {
	var out []interval
	add := func(lo, hi uint32, t target) {
		if n := len(out); n > 0 && t.constant() && out[n-1].t.constant() && out[n-1].t.ret == t.ret && out[n-1].hi+1 == lo {
			out[n-1].hi = hi
			return
		}
		out = append(out, interval{lo, hi, t})
	}
	base := target{ret: badArch}
	if r.filter != nil {
		base.ret = defRet
	}
	end := r.hi
	stubbed := stub && r.stub != nil && r.stub.max > 0
	if stubbed && r.stub.max < end {
		end = r.stub.max
	}
	var nrs []uint32
	if r.filter != nil {
		for nr := range r.filter.rules {
			if nr >= r.lo && nr <= end {
				nrs = append(nrs, nr)
			}
		}
	}
	slices.Sort(nrs)
	cur := uint64(r.lo)
	if stubbed && r.stub.info.enosysZero && r.lo == 0 {
		add(0, 0, target{ret: enosys})
		cur = 1
	}
	if !stubbed || r.stub.max >= r.lo {
		for _, nr := range nrs {
			if uint64(nr) < cur {
				continue
			}
			if uint64(nr) > cur {
				add(uint32(cur), nr-1, base)
			}
			add(nr, nr, syscallTarget(r.filter.rules[nr], defRet, r.filter.info))
			cur = uint64(nr) + 1
		}
		if cur <= uint64(end) {
			add(uint32(cur), end, base)
		}
		cur = uint64(end) + 1
	}
	if cur <= uint64(r.hi) {
		add(uint32(cur), r.hi, target{ret: enosys})
	}
	return out
}

// group is every sub-architecture sharing one AUDIT_ARCH value.
type group struct {
	audit   uint32
	regions []region
	info    archInfo
}

func groups(subs []*subArch) []*group {
	var out []*group
	byAudit := map[uint32]*group{}
	var x86_64, x32 *subArch
	for _, s := range subs {
		switch s.name {
		case "SCMP_ARCH_X86_64":
			x86_64 = s
		case "SCMP_ARCH_X32":
			x32 = s
		}
		g := byAudit[s.info.audit]
		if g == nil {
			g = &group{audit: s.info.audit, info: s.info}
			byAudit[s.info.audit] = g
			out = append(out, g)
		}
		if s.name != "SCMP_ARCH_X86_64" && s.name != "SCMP_ARCH_X32" {
			g.regions = []region{{lo: 0, hi: ^uint32(0), stub: s, filter: s}}
		}
	}
	if x86_64 != nil || x32 != nil {
		// runc's stub picks the ABI by testing bit 30; libseccomp's filter
		// by comparing with it, so numbers from 2^31 on mix the two.
		// libseccomp also lets nr -1 (a syscall skipped by a tracer) reach
		// the x86_64 rules.
		minus1 := x86_64
		if minus1 == nil {
			minus1 = x32
		}
		byAudit[archs["SCMP_ARCH_X86_64"].audit].regions = []region{
			{lo: 0, hi: x32Bit - 1, stub: x86_64, filter: x86_64},
			{lo: x32Bit, hi: 0x7fffffff, stub: x32, filter: x32},
			{lo: 0x80000000, hi: 0xbfffffff, stub: x86_64, filter: x32},
			{lo: 0xc0000000, hi: 0xfffffffe, stub: x32, filter: x32},
			{lo: 0xffffffff, hi: 0xffffffff, stub: x32, filter: minus1},
		}
	}
	return out
}

// isPermissive reports default actions for which runc adds no ENOSYS stub:
// a tracer or an allow-all profile should see new syscalls.
func isPermissive(a specs.LinuxSeccompAction) bool {
	return a == specs.ActAllow || a == specs.ActLog || a == specs.ActTrace
}

func compile(cfg *specs.LinuxSeccomp, native string) (*Filter, error) {
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, fmt.Errorf("seccomp: no profile")
	}
	defRet, _ := action(cfg.DefaultAction, cfg.DefaultErrnoRet)
	names := []string{native}
	for _, a := range cfg.Architectures {
		if !slices.Contains(names, string(a)) {
			names = append(names, string(a))
		}
	}
	subs := make([]*subArch, 0, len(names))
	for _, n := range names {
		s, err := buildSubArch(n, cfg, defRet)
		if err != nil {
			return nil, err
		}
		subs = append(subs, s)
	}

	f := &Filter{}
	for _, fl := range cfg.Flags {
		f.flags |= specFlags[fl]
	}
	for _, sc := range cfg.Syscalls {
		if sc.Action == specs.ActNotify {
			f.notify = true
			f.flags |= flagNewListener
			// The kernel refuses TSYNC with a listener unless a failed
			// sync reports ESRCH instead of a thread id.
			if f.flags&flagTsync != 0 {
				f.flags |= flagTsyncESRCH
			}
		}
	}
	// The kernel takes WAIT_KILLABLE_RECV only with a listener; like
	// libseccomp, a profile without notify rules simply has no use for it.
	if f.flags&flagNewListener == 0 {
		f.flags &^= flagWaitKillableRecv
	}

	stub := !isPermissive(cfg.DefaultAction)
	enosys := uint32(retErrno | unix.ENOSYS)
	a := &asm{}
	a.op(opLdAbsW, 4) // seccomp_data.arch
	gs := groups(subs)
	blocks := make([]label, len(gs))
	for i, g := range gs {
		blocks[i] = a.newLabel()
		next := a.newLabel()
		a.jump(opJeq, g.audit, blocks[i], next)
		a.mark(next)
	}
	// libseccomp's default bad-architecture action, kept by runc.
	a.ret(retKillThread)
	for i, g := range gs {
		a.mark(blocks[i])
		a.op(opLdAbsW, 0) // seccomp_data.nr
		var ivs []interval
		for _, r := range g.regions {
			for _, iv := range r.intervals(stub, defRet, retKillThread, enosys) {
				if n := len(ivs); n > 0 && iv.t.constant() && ivs[n-1].t.constant() && ivs[n-1].t.ret == iv.t.ret {
					ivs[n-1].hi = iv.hi
					continue
				}
				ivs = append(ivs, iv)
			}
		}
		search(a, ivs)
	}
	prog, err := a.assemble()
	if err != nil {
		return nil, err
	}
	f.prog = prog
	return f, nil
}

// search emits a binary search over the syscall number (in A) that ends in
// each interval's verdict.
func search(a *asm, ivs []interval) {
	if len(ivs) == 1 {
		leaf(a, ivs[0].t)
		return
	}
	if points, bg, ok := fewPoints(ivs); ok {
		// A run of one verdict with at most two exceptions: "jeq" per
		// exception beats a bisection.
		for _, p := range points {
			hit, miss := a.newLabel(), a.newLabel()
			a.jump(opJeq, p.lo, hit, miss)
			a.mark(hit)
			leaf(a, p.t)
			a.mark(miss)
		}
		a.ret(bg)
		return
	}
	mid := split(ivs)
	lo, hi := a.newLabel(), a.newLabel()
	a.jump(opJge, ivs[mid].lo, hi, lo)
	a.mark(lo)
	search(a, ivs[:mid])
	a.mark(hi)
	search(a, ivs[mid:])
}

// split picks the bisection point. Syscall numbers in use are dense at the
// bottom of the table, so weigh each interval by how many numbers below
// 4096 it covers (at least one) rather than by count.
func split(ivs []interval) int {
	w := make([]uint64, len(ivs))
	var total uint64
	for i, iv := range ivs {
		lo, hi := uint64(iv.lo), uint64(iv.hi)
		n := uint64(1)
		if lo < 4096 {
			n = min(hi, 4095) - lo + 1
		}
		w[i] = n
		total += n
	}
	var acc uint64
	best := 1
	for i := 1; i < len(ivs); i++ {
		acc += w[i-1]
		if acc*2 <= total {
			best = i
		}
	}
	return best
}

func fewPoints(ivs []interval) (points []interval, bg uint32, ok bool) {
	haveBg := false
	for _, iv := range ivs {
		if iv.lo == iv.hi && (!iv.t.constant() || haveBg && iv.t.ret != bg) {
			points = append(points, iv)
			continue
		}
		if !iv.t.constant() || haveBg && iv.t.ret != bg {
			return nil, 0, false
		}
		bg, haveBg = iv.t.ret, true
	}
	return points, bg, haveBg && len(points) <= 2
}

func leaf(a *asm, t target) {
	if t.constant() {
		a.ret(t.ret)
		return
	}
	for _, r := range t.rules {
		next := a.newLabel()
		for _, c := range r.conds {
			pass := a.newLabel()
			argCheck(a, t.info, c, pass, next)
			a.mark(pass)
		}
		a.ret(r.ret)
		a.mark(next)
	}
	a.ret(t.base)
}

// argOffsets returns where the low and high 32 bits of argument i sit in
// seccomp_data (args[] starts at byte 16, 8 bytes each, in the ABI's byte
// order).
func argOffsets(info archInfo, i uint) (lo, hi uint32) {
	off := uint32(16 + 8*i)
	if info.littleEndian() {
		return off, off + 4
	}
	return off + 4, off
}

// argCheck jumps to pass if the condition holds, else to fail. 64-bit ABIs
// compare both halves; 32-bit ABIs only have the low half, and, as with
// libseccomp, the profile's values are truncated to 32 bits there.
func argCheck(a *asm, info archInfo, c cond, pass, fail label) {
	loOff, hiOff := argOffsets(info, c.index)
	v := c.value
	if c.op == specs.OpMaskedEqual {
		maskedEq(a, info, loOff, hiOff, c.value, c.datum, pass, fail)
		return
	}
	// NE, LT and LE are the negations of EQ, GE and GT.
	op := c.op
	t, f := pass, fail
	switch op {
	case specs.OpNotEqual:
		op, t, f = specs.OpEqualTo, fail, pass
	case specs.OpLessThan:
		op, t, f = specs.OpGreaterEqual, fail, pass
	case specs.OpLessEqual:
		op, t, f = specs.OpGreaterThan, fail, pass
	}
	loCode := map[specs.LinuxSeccompOperator]uint16{
		specs.OpEqualTo: opJeq, specs.OpGreaterEqual: opJge, specs.OpGreaterThan: opJgt,
	}[op]
	if info.is64() {
		a.op(opLdAbsW, hiOff)
		lo := a.newLabel()
		if op == specs.OpEqualTo {
			a.jump(opJeq, uint32(v>>32), lo, f)
		} else if v>>32 == 0 {
			a.jump(opJgt, 0, t, lo)
		} else {
			// Ordered comparison: the high half decides unless equal.
			eq := a.newLabel()
			a.jump(opJgt, uint32(v>>32), t, eq)
			a.mark(eq)
			a.jump(opJeq, uint32(v>>32), lo, f)
		}
		a.mark(lo)
	}
	a.op(opLdAbsW, loOff)
	a.jump(loCode, uint32(v), t, f)
}

func maskedEq(a *asm, info archInfo, loOff, hiOff uint32, mask, datum uint64, pass, fail label) {
	half := func(off, m, d uint32, ok label) {
		if m == 0 {
			// (x & 0) == d is decided by d alone; d == 0 falls through to
			// ok, which the caller marks next.
			if d != 0 {
				a.jump(opJa, 0, fail, fail)
			}
			return
		}
		a.op(opLdAbsW, off)
		if m != ^uint32(0) {
			a.op(opAndK, m)
		}
		a.jump(opJeq, d, ok, fail)
	}
	if info.is64() {
		lo := a.newLabel()
		half(hiOff, uint32(mask>>32), uint32(datum>>32), lo)
		a.mark(lo)
	}
	half(loOff, uint32(mask), uint32(datum), pass)
}
