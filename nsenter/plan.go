package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A Plan is a process setup that Go has decided in full and the namespace
// stage carries out in C, before any Go runtime starts in that process
// (see plan.c): the fast paths of `exec` and `create`. It holds no
// policy: every step is one system call, or a fixed short sequence of
// them, with the arguments Go computed. The steps run in the order they
// were added; the first that fails ends the process with a KindPlanError
// message naming it and errno.
//
// Wire format (little-endian), version PlanVersion, mirrored by plan.h:
//
//	header: uint32 magic "OCXP", uint16 version, uint16 reserved,
//	        uint32 number of steps
//	step:   uint16 op, uint16 reserved, uint32 len, byte data[len]
//
// Strings are NUL-terminated; a string list is a uint32 count followed by
// that many strings. The op numbers below are part of the format: a new
// step gets a new number, a changed meaning a new version.
type Plan struct {
	buf   []byte
	steps int
	// what describes each step for the error the user sees.
	what []stepWhat
	// release is the index of the Release step.
	release int
}

// stepWhat is how a failed step reads: "what: errno", or what alone when
// it says all there is (whole).
type stepWhat struct {
	text  string
	whole bool
}

// PlanVersion is the version of the wire format this package writes.
const PlanVersion = 2

const planMagic = 0x5058434f // "OCXP"

// Step ops; keep in step with plan.h.
const (
	opSetsid         = 1
	opSetnsChildren  = 2
	opPersonality    = 3
	opWriteAt        = 4
	opSchedAttr      = 5
	opIOPrio         = 6
	opAffinity       = 7
	opSessionKeys    = 8
	opChownStdio     = 9
	opChdir          = 10
	opFindProgram    = 11
	opSeccomp        = 12
	opRelease        = 13
	opRlimit         = 14
	opPrctl          = 15
	opSetgroups      = 16
	opSetresgid      = 17
	opSetresuid      = 18
	opCapset         = 19
	opUmask          = 20
	opSpawn          = 21
	opConsole        = 22
	opSeccompNotify  = 23
	opChroot         = 24
	opMemPolicy      = 25
	opProcfs         = 26
	opExecAfterStart = 27
	opTerminal       = 28
	opProcfsAt       = 29
	opRootFromParent = 30
	opProcfsFrom     = 31
	opWriteAndClose  = 32
)

func (p *Plan) add(op uint16, what string, data []byte) {
	p.addStep(op, stepWhat{text: what}, data)
}

func (p *Plan) addStep(op uint16, what stepWhat, data []byte) {
	p.buf = binary.LittleEndian.AppendUint16(p.buf, op)
	p.buf = binary.LittleEndian.AppendUint16(p.buf, 0)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(data)))
	p.buf = append(p.buf, data...)
	p.steps++
	p.what = append(p.what, what)
}

func u32s(values ...uint32) []byte {
	var b []byte
	for _, v := range values {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func cString(b []byte, s string) []byte {
	return append(append(b, s...), 0)
}

func stringList(b []byte, list []string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(list)))
	for _, s := range list {
		b = cString(b, s)
	}
	return b
}

// frameHead starts a frame the init reads as a plan or a request to it:
// magic, which tells them apart, then PlanVersion and a reserved uint16.
func frameHead(magic uint32) []byte {
	out := u32s(magic)
	out = binary.LittleEndian.AppendUint16(out, PlanVersion)
	return binary.LittleEndian.AppendUint16(out, 0)
}

// Encode is the plan as plan.c reads it.
func (p *Plan) Encode() []byte {
	out := binary.LittleEndian.AppendUint32(frameHead(planMagic), uint32(p.steps))
	return append(out, p.buf...)
}

// Err turns a KindPlanError message into the error the user sees.
func (p *Plan) Err(rep *Message) error {
	if rep.Step < 0 || rep.Step >= len(p.what) {
		return fmt.Errorf("step %d of the exec plan: %w", rep.Step, unix.Errno(rep.Errno))
	}
	what := p.what[rep.Step]
	if what.whole {
		return errors.New(what.text)
	}
	return fmt.Errorf("%s: %w", what.text, unix.Errno(rep.Errno))
}

// Setsid makes the process lead a session of its own.
func (p *Plan) Setsid() { p.add(opSetsid, "setsid", nil) }

// Chroot makes the directory at fd the process's root and cwd, and
// closes fd.
func (p *Plan) Chroot(fd int, what string) {
	p.add(opChroot, what, u32s(uint32(fd)))
}

// SetnsChildren joins the namespace at fd (of type nstype, a CLONE_NEW*)
// and closes fd; for a pid namespace that is where the process's children
// are born, while it stays outside.
func (p *Plan) SetnsChildren(fd int, nstype uint32, what string) {
	p.add(opSetnsChildren, what, u32s(uint32(fd), nstype))
}

// Personality calls personality(2).
func (p *Plan) Personality(persona uint32, what string) {
	p.add(opPersonality, what, u32s(persona))
}

// WriteAt writes value to the file at path below the directory fd dirFD
// (a private procfs handle, for /proc files a container could otherwise
// redirect with mounts of its own).
func (p *Plan) WriteAt(dirFD int, path, value, what string) {
	p.add(opWriteAt, what, append(cString(u32s(uint32(dirFD)), path), value...))
}

// WriteAndClose writes value to fd, a file the runtime opened and passed
// (the kernel checks a write to a cgroup's "tasks" against the opener's
// rights), and closes it.
func (p *Plan) WriteAndClose(fd int, value, what string) {
	p.add(opWriteAndClose, what, append(u32s(uint32(fd)), value...))
}

// MemoryPolicy calls set_mempolicy(2) with mode (flags included) and
// the node bitmask nodes.
func (p *Plan) MemoryPolicy(mode uint32, nodes []uint64, what string) {
	b := u32s(mode)
	for _, w := range nodes {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	p.add(opMemPolicy, what, b)
}

// SchedAttr calls sched_setattr(2) for the process.
func (p *Plan) SchedAttr(attr *unix.SchedAttr, what string) {
	raw := unsafe.Slice((*byte)(unsafe.Pointer(attr)), unsafe.Sizeof(*attr))
	p.add(opSchedAttr, what, append([]byte(nil), raw...))
}

// IOPrio calls ioprio_set(2) for the process with value.
func (p *Plan) IOPrio(value int, what string) {
	p.add(opIOPrio, what, u32s(uint32(value)))
}

// Affinity calls sched_setaffinity(2) with set.
func (p *Plan) Affinity(set *unix.CPUSet, what string) {
	raw := unsafe.Slice((*byte)(unsafe.Pointer(set)), unsafe.Sizeof(*set))
	p.add(opAffinity, what, append([]byte(nil), raw...))
}

// SessionKeyring joins a new anonymous session keyring; a kernel without
// keyrings (ENOSYS) has nothing to leave behind.
func (p *Plan) SessionKeyring() {
	p.add(opSessionKeys, "join a new session keyring", nil)
}

// ChownStdio hands stdio fd to uid, keeping its group, unless uid owns it
// already; where the file cannot change owner (EINVAL, EPERM, EROFS) or
// fd is not open, it is left as it is.
func (p *Plan) ChownStdio(fd int, uid uint32) {
	p.add(opChownStdio, fmt.Sprintf("hand stdio fd %d to uid %d", fd, uid), u32s(uint32(fd), uid))
}

// Chdir changes to dir resolved inside "/" without crossing a procfs
// magic link, and fails (EXDEV) if the result lies outside the root.
func (p *Plan) Chdir(dir, what string) {
	p.add(opChdir, what, cString(nil, dir))
}

// FindProgram picks the first of candidates that is a regular file with
// an execute bit, reached without crossing a procfs magic link: the
// program Spawn executes. It fails with the errno of the last candidate
// (ELOOP for a magic link, EACCES for no execute bit or not a file),
// which the error shows unless whole says what is all there is to say.
func (p *Plan) FindProgram(candidates []string, what string, whole bool) {
	p.addStep(opFindProgram, stepWhat{text: what, whole: whole}, stringList(nil, candidates))
}

// Seccomp installs a seccomp filter on the process now.
func (p *Plan) Seccomp(filter []unix.SockFilter, flags uint32) {
	p.add(opSeccomp, "seccomp: installing filter", seccompData(filter, flags))
}

// SeccompListener installs a seccomp filter whose flags ask for a
// listener fd, and passes that fd to the parent: a {"type":"notify"}
// frame, then one zero byte carrying the fd (SCM_RIGHTS).
func (p *Plan) SeccompListener(filter []unix.SockFilter, flags uint32) {
	p.add(opSeccompNotify, "seccomp: installing filter", seccompData(filter, flags))
}

func seccompData(filter []unix.SockFilter, flags uint32) []byte {
	b := u32s(flags, uint32(len(filter)))
	for _, ins := range filter {
		b = binary.LittleEndian.AppendUint16(b, ins.Code)
		b = append(b, ins.Jt, ins.Jf)
		b = binary.LittleEndian.AppendUint32(b, ins.K)
	}
	return b
}

// Release tells the parent the process is set up (KindReady) and waits
// for its KindAck.
func (p *Plan) Release() {
	p.release = p.steps
	p.add(opRelease, "wait for the runtime", nil)
}

// Rlimit calls prlimit(2) on the process.
func (p *Plan) Rlimit(resource int, soft, hard uint64, what string) {
	b := u32s(uint32(resource))
	b = binary.LittleEndian.AppendUint64(b, soft)
	b = binary.LittleEndian.AppendUint64(b, hard)
	p.add(opRlimit, what, b)
}

// Prctl calls prctl(2) with option, arg2 and arg3.
func (p *Plan) Prctl(option int, arg2, arg3 uint64, what string) {
	b := u32s(uint32(option))
	b = binary.LittleEndian.AppendUint64(b, arg2)
	b = binary.LittleEndian.AppendUint64(b, arg3)
	p.add(opPrctl, what, b)
}

// Setgroups calls setgroups(2).
func (p *Plan) Setgroups(gids []uint32) {
	p.add(opSetgroups, fmt.Sprintf("setgroups %v", gids), u32s(gids...))
}

// Setresgid sets all three gids.
func (p *Plan) Setresgid(gid uint32) {
	p.add(opSetresgid, fmt.Sprintf("setresgid %d", gid), u32s(gid))
}

// Setresuid sets all three uids.
func (p *Plan) Setresuid(uid uint32) {
	p.add(opSetresuid, fmt.Sprintf("setresuid %d", uid), u32s(uid))
}

// Capset sets the effective, permitted and inheritable capability sets.
func (p *Plan) Capset(effective, permitted, inheritable uint64, what string) {
	b := binary.LittleEndian.AppendUint64(nil, effective)
	b = binary.LittleEndian.AppendUint64(b, permitted)
	b = binary.LittleEndian.AppendUint64(b, inheritable)
	p.add(opCapset, what, b)
}

// Umask sets the file mode creation mask.
func (p *Plan) Umask(mask uint32) { p.add(opUmask, "umask", u32s(mask)) }

// Console opens a pty in the container's devpts (its /dev/ptmx, which
// must be a pty multiplexer, else ENODEV), sets its size when rows or
// cols are not 0, sends the master to the console socket at socketFD and
// makes the slave, reached through the master (TIOCGPTPEER), stdio.
func (p *Plan) Console(socketFD int, rows, cols uint16) {
	p.add(opConsole, "set up the pty", u32s(uint32(socketFD), uint32(rows), uint32(cols)))
}

// Spawn ends the plan: it starts the program FindProgram chose with argv
// and env, as nsenter.SpawnAndExit does (every fd from closeFrom on is
// the runtime's; filter, when not empty, goes in right before execve;
// with controllingTerminal stdin, a terminal, becomes the process's
// controlling terminal; wait, when its FifoFD is not 0, has it wait for
// start first and run the startContainer hooks), and reports the outcome
// the same way.
func (p *Plan) Spawn(argv, env []string, closeFrom int, controllingTerminal bool, filter []unix.SockFilter, seccompFlags uint32, wait SpawnWait) error {
	if err := checkFilterLength(filter); err != nil {
		return err
	}
	if err := wait.check(); err != nil {
		return err
	}
	ctty := uint32(0)
	if controllingTerminal {
		ctty = 1
	}
	b := u32s(uint32(closeFrom), ctty, uint32(wait.FifoFD), uint32(wait.ProcfsFD), uint32(wait.HookStateFD), uint32(wait.HookStateMax))
	b = append(b, seccompData(filter, seccompFlags)...)
	b = stringList(b, argv)
	b = stringList(b, env)
	b = hookList(b, wait.Hooks)
	what := "start the process"
	if wait.FifoFD != 0 {
		what = "start the process, which waits for start"
	}
	p.add(opSpawn, what, b)
	return nil
}

// ProcfsFrom places at fd target the procfs of ctx, an fsopen("proc")
// context a helper made in another pid namespace, mounted nowhere: the
// procfs through which Spawn's process reopens the exec fifo.
func (p *Plan) ProcfsFrom(ctx, target int) {
	p.add(opProcfsFrom, "make the procfs of the joined pid namespace", u32s(uint32(ctx), uint32(target)))
}

// TerminalFromParent makes the pty slave the runtime sends, after the
// plan, with a KindConsole message, stdio and, with controlling, the
// controlling terminal of the process, which must lead its session
// (Setsid).
func (p *Plan) TerminalFromParent(controlling bool) {
	ctty := uint32(0)
	if controlling {
		ctty = 1
	}
	p.add(opTerminal, "take the pty as the terminal", u32s(ctty))
}

// RootFromParent makes the directory the runtime sends, after the plan,
// with a KindRoot message (before any KindConsole), the process's root
// and cwd: the container's root, where the switch of root did not move
// the process's own.
func (p *Plan) RootFromParent() {
	p.add(opRootFromParent, "take the container's root", nil)
}

// Procfs places at fd target a procfs of the process's pid namespace,
// mounted nowhere, through which ExecAfterStart reopens the exec fifo.
func (p *Plan) Procfs(target int) {
	p.add(opProcfs, "make a procfs of the container's pid namespace", u32s(uint32(target)))
}

// ProcfsAt places at fd target the procfs mounted at path in the
// process's root, as Procfs would make one: the step fails unless what it
// finds there is the root of a procfs whose "self" is the process. Taking
// the container's own /proc spares the fresh mount, whose release at the
// execve waits for an RCU grace period between start and the program.
func (p *Plan) ProcfsAt(target int, path string) {
	p.add(opProcfsAt, "take the container's "+path+" as its procfs handle", cString(u32s(uint32(target)), path))
}

// ExecAfterStart ends the plan of a create: the process closes every fd
// from closeFrom on but fifoFD (an O_PATH fd of the exec fifo) and
// procfsFD (see Procfs and ProcfsAt), opens the fifo for writing through
// procfsFD, which blocks until `start` opens it, installs filter when not
// empty, runs hooks and executes the program FindProgram chose with argv
// and env. What fails after the wait goes to `start` through the fifo
// (KindSpawnError, or KindHookError for a hook).
func (p *Plan) ExecAfterStart(argv, env []string, closeFrom, fifoFD, procfsFD int, filter []unix.SockFilter, seccompFlags uint32, hooks StartHooks) error {
	if err := checkFilterLength(filter); err != nil {
		return err
	}
	b := u32s(uint32(closeFrom), uint32(fifoFD), uint32(procfsFD))
	b = append(b, seccompData(filter, seccompFlags)...)
	b = stringList(b, argv)
	b = stringList(b, env)
	b = append(binary.LittleEndian.AppendUint32(b, uint32(len(hooks.State))), hooks.State...)
	b = hookList(b, hooks.Hooks)
	what := "wait for start and execute the process"
	if len(hooks.Hooks) > 0 {
		what = "wait for start, run the startContainer hooks and execute the process"
	}
	p.add(opExecAfterStart, what, b)
	return nil
}

// hookList appends hooks as the plan's last steps read them: their
// number, then each one's timeout (-1 for none), path, argv and env.
func hookList(b []byte, hooks []SpawnHook) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(hooks)))
	for _, h := range hooks {
		timeout := int32(-1)
		if h.Timeout > 0 {
			timeout = int32(h.Timeout)
		}
		b = cString(binary.LittleEndian.AppendUint32(b, uint32(timeout)), h.Path)
		b = stringList(b, h.Argv)
		b = stringList(b, h.Env)
	}
	return b
}

// StartHooks are the startContainer hooks ExecAfterStart runs, in order,
// each with State on stdin, before the program; the first that fails
// ends the process.
type StartHooks struct {
	Hooks []SpawnHook
	State []byte
}

// checkFilterLength refuses a filter longer than struct sock_fprog can
// count, which the last steps would otherwise truncate.
func checkFilterLength(filter []unix.SockFilter) error {
	if len(filter) > 0xffff {
		return fmt.Errorf("seccomp filter of %d instructions is too long", len(filter))
	}
	return nil
}

// String lists the steps, for the debug log.
func (p *Plan) String() string {
	return fmt.Sprintf("%d steps: %s", p.steps, p.describe(p.what))
}

// RanToRelease says, for the debug log, which steps have run once the
// plan reports it is ready: all up to its Release step.
func (p *Plan) RanToRelease() string {
	return fmt.Sprintf("steps 0-%d ran: %s", p.release, p.describe(p.what[:p.release+1]))
}

// RanAfterRelease says which steps have run once the process started.
func (p *Plan) RanAfterRelease() string {
	return fmt.Sprintf("steps %d-%d ran: %s", p.release+1, p.steps-1, p.describe(p.what[p.release+1:]))
}

func (p *Plan) describe(steps []stepWhat) string {
	texts := make([]string, len(steps))
	for i, w := range steps {
		texts[i] = w.text
	}
	return strings.Join(texts, "; ")
}
