package configs

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// How oci-rt treats a runtime-spec field: there is no fourth way.
type fieldHandling int

const (
	// implemented: acted on; evidence names the test that shows it.
	implemented fieldHandling = iota
	// refused: create fails when the field is set on the host onHost
	// describes (SELinux off, no resctrl); evidence is a fragment of the
	// error.
	refused
	// warned: accepted and left alone, as runc does, with a warning in the
	// log; evidence is a fragment of the warning. Only what belongs to
	// other platforms (their sections, Windows' process.commandLine) is
	// treated so.
	warned
)

type fieldEntry struct {
	handling fieldHandling
	evidence string
}

// specFields holds every field of runtime-spec's Spec, by JSON path. A
// field that a new runtime-spec version adds fails TestEverySpecFieldHandled
// until it is listed here, so no field is ever silently ignored.
//
// Notes on some entries:
//   - linux.resources.*: converted by the cgroups package, which applies
//     each or refuses it with an error naming it (TestConvertResources).
//   - linux.intelRdt.*: implemented through resctrl where it is mounted
//     (libcontainer/intelrdt tests, against a fake resctrl directory);
//     refused with runc's words where it is not, as on this host.
//   - process.selinuxLabel, linux.mountLabel: applied where SELinux is on;
//     refused (runc's behaviour) where it is off, as on this host.
var specFields = map[string]fieldEntry{
	"ociVersion":                                            {implemented, "TestBadConfigValues"},
	"process":                                               {implemented, "TestProcessArgsEnvCwd"},
	"process.terminal":                                      {implemented, "TestConsoleSocket"},
	"process.consoleSize":                                   {implemented, "TestConsoleSocket"},
	"process.consoleSize.height":                            {implemented, "TestConsoleSocket"},
	"process.consoleSize.width":                             {implemented, "TestConsoleSocket"},
	"process.user":                                          {implemented, "TestProcessUser"},
	"process.user.uid":                                      {implemented, "TestProcessUser"},
	"process.user.gid":                                      {implemented, "TestProcessUser"},
	"process.user.umask":                                    {implemented, "TestProcessUser"},
	"process.user.additionalGids":                           {implemented, "TestProcessUser"},
	"process.user.username":                                 {implemented, "TestUserNames"},
	"process.args":                                          {implemented, "TestProcessArgsEnvCwd"},
	"process.commandLine":                                   {warned, "commandLine"},
	"process.env":                                           {implemented, "TestProcessArgsEnvCwd"},
	"process.cwd":                                           {implemented, "TestProcessArgsEnvCwd"},
	"process.capabilities":                                  {implemented, "TestCapabilities"},
	"process.capabilities.bounding":                         {implemented, "TestCapabilities"},
	"process.capabilities.effective":                        {implemented, "TestCapabilities"},
	"process.capabilities.inheritable":                      {implemented, "TestCapabilities"},
	"process.capabilities.permitted":                        {implemented, "TestCapabilities"},
	"process.capabilities.ambient":                          {implemented, "TestCapabilities"},
	"process.rlimits":                                       {implemented, "TestRlimitsBindOnlyTheProcess"},
	"process.rlimits.type":                                  {implemented, "TestRlimitsBindOnlyTheProcess"},
	"process.rlimits.hard":                                  {implemented, "TestRlimitsBindOnlyTheProcess"},
	"process.rlimits.soft":                                  {implemented, "TestRlimitsBindOnlyTheProcess"},
	"process.noNewPrivileges":                               {implemented, "TestProcessAttributes"},
	"process.apparmorProfile":                               {implemented, "TestLSMOnHostWithout"},
	"process.oomScoreAdj":                                   {implemented, "TestProcessAttributes"},
	"process.scheduler":                                     {implemented, "TestProcessAttributes"},
	"process.scheduler.policy":                              {implemented, "TestProcessAttributes"},
	"process.scheduler.nice":                                {implemented, "TestProcessAttributes"},
	"process.scheduler.priority":                            {implemented, "TestProcessAttributes"},
	"process.scheduler.flags":                               {implemented, "TestProcessAttributes"},
	"process.scheduler.runtime":                             {implemented, "TestProcessAttributes"},
	"process.scheduler.deadline":                            {implemented, "TestProcessAttributes"},
	"process.scheduler.period":                              {implemented, "TestProcessAttributes"},
	"process.selinuxLabel":                                  {refused, "selinux"},
	"process.ioPriority":                                    {implemented, "TestProcessAttributes"},
	"process.ioPriority.class":                              {implemented, "TestProcessAttributes"},
	"process.ioPriority.priority":                           {implemented, "TestProcessAttributes"},
	"process.execCPUAffinity":                               {implemented, "TestProcessAttributes"},
	"process.execCPUAffinity.initial":                       {implemented, "TestProcessAttributes"},
	"process.execCPUAffinity.final":                         {implemented, "TestProcessAttributes"},
	"root":                                                  {implemented, "TestPivotRootAndNoPivot"},
	"root.path":                                             {implemented, "TestPivotRootAndNoPivot"},
	"root.readonly":                                         {implemented, "TestBindAndTmpfsMounts"},
	"hostname":                                              {implemented, "TestAllNamespacesNew"},
	"domainname":                                            {implemented, "TestAllNamespacesNew"},
	"mounts":                                                {implemented, "TestBindAndTmpfsMounts"},
	"mounts.destination":                                    {implemented, "TestBindAndTmpfsMounts"},
	"mounts.type":                                           {implemented, "TestBindAndTmpfsMounts"},
	"mounts.source":                                         {implemented, "TestBindAndTmpfsMounts"},
	"mounts.options":                                        {implemented, "TestBindAndTmpfsMounts"},
	"mounts.uidMappings":                                    {implemented, "TestIDMappedBind"},
	"mounts.uidMappings.containerID":                        {implemented, "TestIDMappedBind"},
	"mounts.uidMappings.hostID":                             {implemented, "TestIDMappedBind"},
	"mounts.uidMappings.size":                               {implemented, "TestIDMappedBind"},
	"mounts.gidMappings":                                    {implemented, "TestIDMappedBind"},
	"mounts.gidMappings.containerID":                        {implemented, "TestIDMappedBind"},
	"mounts.gidMappings.hostID":                             {implemented, "TestIDMappedBind"},
	"mounts.gidMappings.size":                               {implemented, "TestIDMappedBind"},
	"hooks":                                                 {implemented, "TestHooks"},
	"hooks.prestart":                                        {implemented, "TestHooks"},
	"hooks.prestart.path":                                   {implemented, "TestHooks"},
	"hooks.prestart.args":                                   {implemented, "TestHooks"},
	"hooks.prestart.env":                                    {implemented, "TestHooks"},
	"hooks.prestart.timeout":                                {implemented, "TestHooks"},
	"hooks.createRuntime":                                   {implemented, "TestHooks"},
	"hooks.createRuntime.path":                              {implemented, "TestHooks"},
	"hooks.createRuntime.args":                              {implemented, "TestHooks"},
	"hooks.createRuntime.env":                               {implemented, "TestHooks"},
	"hooks.createRuntime.timeout":                           {implemented, "TestHooks"},
	"hooks.createContainer":                                 {implemented, "TestHooks"},
	"hooks.createContainer.path":                            {implemented, "TestHooks"},
	"hooks.createContainer.args":                            {implemented, "TestHooks"},
	"hooks.createContainer.env":                             {implemented, "TestHooks"},
	"hooks.createContainer.timeout":                         {implemented, "TestHooks"},
	"hooks.startContainer":                                  {implemented, "TestHooks"},
	"hooks.startContainer.path":                             {implemented, "TestHooks"},
	"hooks.startContainer.args":                             {implemented, "TestHooks"},
	"hooks.startContainer.env":                              {implemented, "TestHooks"},
	"hooks.startContainer.timeout":                          {implemented, "TestHooks"},
	"hooks.poststart":                                       {implemented, "TestHooks"},
	"hooks.poststart.path":                                  {implemented, "TestHooks"},
	"hooks.poststart.args":                                  {implemented, "TestHooks"},
	"hooks.poststart.env":                                   {implemented, "TestHooks"},
	"hooks.poststart.timeout":                               {implemented, "TestHooks"},
	"hooks.poststop":                                        {implemented, "TestHooks"},
	"hooks.poststop.path":                                   {implemented, "TestHooks"},
	"hooks.poststop.args":                                   {implemented, "TestHooks"},
	"hooks.poststop.env":                                    {implemented, "TestHooks"},
	"hooks.poststop.timeout":                                {implemented, "TestHooks"},
	"annotations":                                           {implemented, "TestHookStateStatus"},
	"linux":                                                 {implemented, "TestAllNamespacesNew"},
	"linux.uidMappings":                                     {implemented, "TestAllNamespacesNew"},
	"linux.uidMappings.containerID":                         {implemented, "TestAllNamespacesNew"},
	"linux.uidMappings.hostID":                              {implemented, "TestAllNamespacesNew"},
	"linux.uidMappings.size":                                {implemented, "TestAllNamespacesNew"},
	"linux.gidMappings":                                     {implemented, "TestAllNamespacesNew"},
	"linux.gidMappings.containerID":                         {implemented, "TestAllNamespacesNew"},
	"linux.gidMappings.hostID":                              {implemented, "TestAllNamespacesNew"},
	"linux.gidMappings.size":                                {implemented, "TestAllNamespacesNew"},
	"linux.sysctl":                                          {implemented, "TestMaskedReadonlySysctlNames"},
	"linux.resources":                                       {implemented, "TestConvertResources"},
	"linux.resources.devices":                               {implemented, "TestDeviceFilter"},
	"linux.resources.devices.allow":                         {implemented, "TestDeviceFilter"},
	"linux.resources.devices.type":                          {implemented, "TestDeviceFilter"},
	"linux.resources.devices.major":                         {implemented, "TestDeviceFilter"},
	"linux.resources.devices.minor":                         {implemented, "TestDeviceFilter"},
	"linux.resources.devices.access":                        {implemented, "TestDeviceFilter"},
	"linux.resources.memory":                                {implemented, "TestConvertResources"},
	"linux.resources.memory.limit":                          {implemented, "TestConvertResources"},
	"linux.resources.memory.reservation":                    {implemented, "TestConvertResources"},
	"linux.resources.memory.swap":                           {implemented, "TestConvertResources"},
	"linux.resources.memory.kernel":                         {implemented, "TestConvertResources"},
	"linux.resources.memory.kernelTCP":                      {implemented, "TestConvertResources"},
	"linux.resources.memory.swappiness":                     {implemented, "TestConvertResources"},
	"linux.resources.memory.disableOOMKiller":               {implemented, "TestConvertResources"},
	"linux.resources.memory.useHierarchy":                   {implemented, "TestConvertResources"},
	"linux.resources.memory.checkBeforeUpdate":              {implemented, "TestConvertResources"},
	"linux.resources.cpu":                                   {implemented, "TestConvertResources"},
	"linux.resources.cpu.shares":                            {implemented, "TestConvertResources"},
	"linux.resources.cpu.quota":                             {implemented, "TestConvertResources"},
	"linux.resources.cpu.burst":                             {implemented, "TestConvertResources"},
	"linux.resources.cpu.period":                            {implemented, "TestConvertResources"},
	"linux.resources.cpu.realtimeRuntime":                   {implemented, "TestConvertResources"},
	"linux.resources.cpu.realtimePeriod":                    {implemented, "TestConvertResources"},
	"linux.resources.cpu.cpus":                              {implemented, "TestConvertResources"},
	"linux.resources.cpu.mems":                              {implemented, "TestConvertResources"},
	"linux.resources.cpu.idle":                              {implemented, "TestConvertResources"},
	"linux.resources.pids":                                  {implemented, "TestConvertResources"},
	"linux.resources.pids.limit":                            {implemented, "TestConvertResources"},
	"linux.resources.blockIO":                               {implemented, "TestConvertResources"},
	"linux.resources.blockIO.weight":                        {implemented, "TestConvertResources"},
	"linux.resources.blockIO.leafWeight":                    {implemented, "TestConvertResources"},
	"linux.resources.blockIO.weightDevice":                  {implemented, "TestConvertResources"},
	"linux.resources.blockIO.weightDevice.major":            {implemented, "TestConvertResources"},
	"linux.resources.blockIO.weightDevice.minor":            {implemented, "TestConvertResources"},
	"linux.resources.blockIO.weightDevice.weight":           {implemented, "TestConvertResources"},
	"linux.resources.blockIO.weightDevice.leafWeight":       {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleReadBpsDevice":         {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleReadBpsDevice.major":   {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleReadBpsDevice.minor":   {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleReadBpsDevice.rate":    {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleWriteBpsDevice":        {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleWriteBpsDevice.major":  {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleWriteBpsDevice.minor":  {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleWriteBpsDevice.rate":   {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleReadIOPSDevice":        {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleReadIOPSDevice.major":  {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleReadIOPSDevice.minor":  {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleReadIOPSDevice.rate":   {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleWriteIOPSDevice":       {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleWriteIOPSDevice.major": {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleWriteIOPSDevice.minor": {implemented, "TestConvertResources"},
	"linux.resources.blockIO.throttleWriteIOPSDevice.rate":  {implemented, "TestConvertResources"},
	"linux.resources.hugepageLimits":                        {implemented, "TestConvertResources"},
	"linux.resources.hugepageLimits.pageSize":               {implemented, "TestConvertResources"},
	"linux.resources.hugepageLimits.limit":                  {implemented, "TestConvertResources"},
	"linux.resources.network":                               {implemented, "TestConvertResources"},
	"linux.resources.network.classID":                       {implemented, "TestConvertResources"},
	"linux.resources.network.priorities":                    {implemented, "TestConvertResources"},
	"linux.resources.network.priorities.name":               {implemented, "TestConvertResources"},
	"linux.resources.network.priorities.priority":           {implemented, "TestConvertResources"},
	"linux.resources.rdma":                                  {implemented, "TestConvertResources"},
	"linux.resources.rdma.hcaHandles":                       {implemented, "TestConvertResources"},
	"linux.resources.rdma.hcaObjects":                       {implemented, "TestConvertResources"},
	"linux.resources.unified":                               {implemented, "TestConvertResources"},
	"linux.cgroupsPath":                                     {implemented, "TestCgroupPlacementAndKillAll"},
	"linux.namespaces":                                      {implemented, "TestJoinNamespaces"},
	"linux.namespaces.type":                                 {implemented, "TestJoinNamespaces"},
	"linux.namespaces.path":                                 {implemented, "TestJoinNamespaces"},
	"linux.devices":                                         {implemented, "TestDevices"},
	"linux.devices.path":                                    {implemented, "TestDevices"},
	"linux.devices.type":                                    {implemented, "TestDevices"},
	"linux.devices.major":                                   {implemented, "TestDevices"},
	"linux.devices.minor":                                   {implemented, "TestDevices"},
	"linux.devices.fileMode":                                {implemented, "TestDevices"},
	"linux.devices.uid":                                     {implemented, "TestDevices"},
	"linux.devices.gid":                                     {implemented, "TestDevices"},
	"linux.netDevices":                                      {implemented, "TestNetDevices"},
	"linux.netDevices.name":                                 {implemented, "TestNetDevices"},
	"linux.seccomp":                                         {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.defaultAction":                           {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.defaultErrnoRet":                         {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.architectures":                           {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.flags":                                   {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.listenerPath":                            {implemented, "TestSeccompNotify"},
	"linux.seccomp.listenerMetadata":                        {implemented, "TestSeccompNotify"},
	"linux.seccomp.syscalls":                                {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.syscalls.names":                          {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.syscalls.action":                         {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.syscalls.errnoRet":                       {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.syscalls.args":                           {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.syscalls.args.index":                     {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.syscalls.args.value":                     {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.syscalls.args.valueTwo":                  {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.seccomp.syscalls.args.op":                        {implemented, "TestSeccompErrnoRetAndKill"},
	"linux.rootfsPropagation":                               {implemented, "TestRootfsPropagation"},
	"linux.maskedPaths":                                     {implemented, "TestMaskedReadonlySysctlNames"},
	"linux.readonlyPaths":                                   {implemented, "TestMaskedReadonlySysctlNames"},
	"linux.mountLabel":                                      {refused, "linux.mountLabel"},
	"linux.intelRdt":                                        {refused, "intelRdt"},
	"linux.intelRdt.closID":                                 {refused, "intelRdt"},
	"linux.intelRdt.schemata":                               {refused, "intelRdt"},
	"linux.intelRdt.l3CacheSchema":                          {refused, "intelRdt"},
	"linux.intelRdt.memBwSchema":                            {refused, "intelRdt"},
	"linux.intelRdt.enableMonitoring":                       {refused, "intelRdt"},
	"linux.memoryPolicy":                                    {implemented, "TestMemoryPolicy"},
	"linux.memoryPolicy.mode":                               {implemented, "TestMemoryPolicy"},
	"linux.memoryPolicy.nodes":                              {implemented, "TestMemoryPolicy"},
	"linux.memoryPolicy.flags":                              {implemented, "TestMemoryPolicy"},
	"linux.personality":                                     {implemented, "TestProcessAttributes"},
	"linux.personality.domain":                              {implemented, "TestProcessAttributes"},
	"linux.personality.flags":                               {implemented, "TestProcessAttributes"},
	"linux.timeOffsets":                                     {implemented, "TestAllNamespacesNew"},
	"linux.timeOffsets.secs":                                {implemented, "TestAllNamespacesNew"},
	"linux.timeOffsets.nanosecs":                            {implemented, "TestAllNamespacesNew"},
	"solaris":                                               {warned, "solaris"},
	"solaris.milestone":                                     {warned, "solaris"},
	"solaris.limitpriv":                                     {warned, "solaris"},
	"solaris.maxShmMemory":                                  {warned, "solaris"},
	"solaris.anet":                                          {warned, "solaris"},
	"solaris.anet.linkname":                                 {warned, "solaris"},
	"solaris.anet.lowerLink":                                {warned, "solaris"},
	"solaris.anet.allowedAddress":                           {warned, "solaris"},
	"solaris.anet.configureAllowedAddress":                  {warned, "solaris"},
	"solaris.anet.defrouter":                                {warned, "solaris"},
	"solaris.anet.linkProtection":                           {warned, "solaris"},
	"solaris.anet.macAddress":                               {warned, "solaris"},
	"solaris.cappedCPU":                                     {warned, "solaris"},
	"solaris.cappedCPU.ncpus":                               {warned, "solaris"},
	"solaris.cappedMemory":                                  {warned, "solaris"},
	"solaris.cappedMemory.physical":                         {warned, "solaris"},
	"solaris.cappedMemory.swap":                             {warned, "solaris"},
	"windows":                                               {warned, "windows"},
	"windows.layerFolders":                                  {warned, "windows"},
	"windows.devices":                                       {warned, "windows"},
	"windows.devices.id":                                    {warned, "windows"},
	"windows.devices.idType":                                {warned, "windows"},
	"windows.resources":                                     {warned, "windows"},
	"windows.resources.memory":                              {warned, "windows"},
	"windows.resources.memory.limit":                        {warned, "windows"},
	"windows.resources.cpu":                                 {warned, "windows"},
	"windows.resources.cpu.count":                           {warned, "windows"},
	"windows.resources.cpu.shares":                          {warned, "windows"},
	"windows.resources.cpu.maximum":                         {warned, "windows"},
	"windows.resources.cpu.affinity":                        {warned, "windows"},
	"windows.resources.cpu.affinity.mask":                   {warned, "windows"},
	"windows.resources.cpu.affinity.group":                  {warned, "windows"},
	"windows.resources.storage":                             {warned, "windows"},
	"windows.resources.storage.iops":                        {warned, "windows"},
	"windows.resources.storage.bps":                         {warned, "windows"},
	"windows.resources.storage.sandboxSize":                 {warned, "windows"},
	"windows.credentialSpec":                                {warned, "windows"},
	"windows.servicing":                                     {warned, "windows"},
	"windows.ignoreFlushesDuringBoot":                       {warned, "windows"},
	"windows.hyperv":                                        {warned, "windows"},
	"windows.hyperv.utilityVMPath":                          {warned, "windows"},
	"windows.network":                                       {warned, "windows"},
	"windows.network.endpointList":                          {warned, "windows"},
	"windows.network.allowUnqualifiedDNSQuery":              {warned, "windows"},
	"windows.network.DNSSearchList":                         {warned, "windows"},
	"windows.network.networkSharedContainerName":            {warned, "windows"},
	"windows.network.networkNamespace":                      {warned, "windows"},
	"vm":                                                    {warned, "vm"},
	"vm.hypervisor":                                         {warned, "vm"},
	"vm.hypervisor.path":                                    {warned, "vm"},
	"vm.hypervisor.parameters":                              {warned, "vm"},
	"vm.kernel":                                             {warned, "vm"},
	"vm.kernel.path":                                        {warned, "vm"},
	"vm.kernel.parameters":                                  {warned, "vm"},
	"vm.kernel.initrd":                                      {warned, "vm"},
	"vm.image":                                              {warned, "vm"},
	"vm.image.path":                                         {warned, "vm"},
	"vm.image.format":                                       {warned, "vm"},
	"vm.hwconfig":                                           {warned, "vm"},
	"vm.hwconfig.deviceTree":                                {warned, "vm"},
	"vm.hwconfig.vcpus":                                     {warned, "vm"},
	"vm.hwconfig.memory":                                    {warned, "vm"},
	"vm.hwconfig.dtdevs":                                    {warned, "vm"},
	"vm.hwconfig.iomems":                                    {warned, "vm"},
	"vm.hwconfig.iomems.firstGFN":                           {warned, "vm"},
	"vm.hwconfig.iomems.firstMFN":                           {warned, "vm"},
	"vm.hwconfig.iomems.nrMFNs":                             {warned, "vm"},
	"vm.hwconfig.irqs":                                      {warned, "vm"},
	"zos":                                                   {warned, "zos"},
	"zos.namespaces":                                        {warned, "zos"},
	"zos.namespaces.type":                                   {warned, "zos"},
	"zos.namespaces.path":                                   {warned, "zos"},
	"freebsd":                                               {warned, "freebsd"},
	"freebsd.devices":                                       {warned, "freebsd"},
	"freebsd.devices.path":                                  {warned, "freebsd"},
	"freebsd.devices.mode":                                  {warned, "freebsd"},
	"freebsd.jail":                                          {warned, "freebsd"},
	"freebsd.jail.parent":                                   {warned, "freebsd"},
	"freebsd.jail.host":                                     {warned, "freebsd"},
	"freebsd.jail.ip4":                                      {warned, "freebsd"},
	"freebsd.jail.ip4Addr":                                  {warned, "freebsd"},
	"freebsd.jail.ip6":                                      {warned, "freebsd"},
	"freebsd.jail.ip6Addr":                                  {warned, "freebsd"},
	"freebsd.jail.vnet":                                     {warned, "freebsd"},
	"freebsd.jail.interface":                                {warned, "freebsd"},
	"freebsd.jail.vnetInterfaces":                           {warned, "freebsd"},
	"freebsd.jail.sysvmsg":                                  {warned, "freebsd"},
	"freebsd.jail.sysvsem":                                  {warned, "freebsd"},
	"freebsd.jail.sysvshm":                                  {warned, "freebsd"},
	"freebsd.jail.enforceStatfs":                            {warned, "freebsd"},
	"freebsd.jail.allow":                                    {warned, "freebsd"},
	"freebsd.jail.allow.setHostname":                        {warned, "freebsd"},
	"freebsd.jail.allow.rawSockets":                         {warned, "freebsd"},
	"freebsd.jail.allow.chflags":                            {warned, "freebsd"},
	"freebsd.jail.allow.mount":                              {warned, "freebsd"},
	"freebsd.jail.allow.quotas":                             {warned, "freebsd"},
	"freebsd.jail.allow.socketAf":                           {warned, "freebsd"},
	"freebsd.jail.allow.mlock":                              {warned, "freebsd"},
	"freebsd.jail.allow.reservedPorts":                      {warned, "freebsd"},
	"freebsd.jail.allow.suser":                              {warned, "freebsd"},
}

// TestEverySpecFieldHandled walks runtime-spec's Go types and checks that
// each field is listed in specFields and handled as listed: an implemented
// field names a test that exists, a refused one makes Validate fail with
// the listed words, a warned one produces the listed warning.
func TestEverySpecFieldHandled(t *testing.T) {
	onHost(t)
	paths := specFieldPaths(reflect.TypeOf(specs.Spec{}), "")
	known := make(map[string]bool, len(paths))
	tests := repositoryTests(t)
	for _, path := range paths {
		known[path] = true
		entry, ok := specFields[path]
		if !ok {
			t.Errorf("spec field %s is not in specFields: implement it, refuse it, or (other platforms only) warn", path)
			continue
		}
		switch entry.handling {
		case implemented:
			if !tests[entry.evidence] {
				t.Errorf("%s: implemented, but its test %s does not exist", path, entry.evidence)
			}
		case refused:
			spec := DefaultSpec(false)
			setField(t, reflect.ValueOf(spec).Elem(), strings.Split(path, "."))
			err := validateForCreate(spec)
			if err == nil || !strings.Contains(err.Error(), entry.evidence) {
				t.Errorf("%s set: Validate = %v, want a refusal mentioning %q", path, err, entry.evidence)
			}
		case warned:
			spec := DefaultSpec(false)
			setField(t, reflect.ValueOf(spec).Elem(), strings.Split(path, "."))
			if err := validateForCreate(spec); err != nil {
				t.Errorf("%s set: Validate = %v, want it accepted with a warning", path, err)
			}
			if w := strings.Join(Warnings(spec), "\n"); !strings.Contains(w, entry.evidence) {
				t.Errorf("%s set: warnings %q, want one mentioning %q", path, w, entry.evidence)
			}
		}
	}
	for path := range specFields {
		if !known[path] {
			t.Errorf("specFields lists %s, which runtime-spec does not have", path)
		}
	}
}

// specFieldPaths lists the JSON paths of every field below t, element
// types of slices and maps included, each once.
func specFieldPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var paths []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			paths = append(paths, specFieldPaths(f.Type, prefix)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		paths = append(paths, prefix+name)
		paths = append(paths, specFieldPaths(f.Type, prefix+name+".")...)
	}
	return paths
}

// setField gives the field at path a non-zero value, making whatever
// holds it: a pointer is allocated, a slice gets one element, a map one
// key "x".
func setField(t *testing.T, v reflect.Value, path []string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		setField(t, v.Elem(), path)
		return
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
		}
		setField(t, v.Index(0), path)
		return
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		setField(t, elem, path)
		v.SetMapIndex(reflect.ValueOf("x").Convert(v.Type().Key()), elem)
		return
	}
	if len(path) == 0 {
		setLeaf(t, v)
		return
	}
	field, ok := fieldByJSONName(v, path[0])
	if !ok {
		t.Fatalf("no field %q in %s", path[0], v.Type())
	}
	setField(t, field, path[1:])
}

func fieldByJSONName(v reflect.Value, name string) (reflect.Value, bool) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Anonymous {
			if inner, ok := fieldByJSONName(v.Field(i), name); ok {
				return inner, true
			}
			continue
		}
		if jsonName, _, _ := strings.Cut(f.Tag.Get("json"), ","); jsonName == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func setLeaf(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	case reflect.Struct:
		// Present but empty: a section that exists is already "set".
	default:
		t.Fatalf("cannot set a %s", v.Type())
	}
}

var testFuncPattern = regexp.MustCompile(`(?m)^func (Test\w+)\(`)

// repositoryTests is the set of Test functions in the repository's own
// test files.
func repositoryTests(t *testing.T) map[string]bool {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFuncPattern.FindAllStringSubmatch(string(data), -1) {
			found[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
