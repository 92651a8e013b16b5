# oci-rt: build, install, demo, tests and benchmarks.
GO        ?= go
PREFIX    ?= /usr/local
BINARY    := oci-rt
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Pure-Go user and DNS lookups (no NSS, no libc resolver), and none of
# urfave/cli's man-page generator, whose package init every process (each
# container init too) would pay for.
GOTAGS    := osusergo,netgo,urfave_cli_no_docs
# Static: the dynamic loader costs every process (each container init too)
# about 85 page faults, which are expensive in VMs.
LDFLAGS   := -s -w -X main.commit=$(COMMIT) -linkmode external -extldflags -static
# The runtime's C is linked with musl, not glibc: glibc's static start-up
# (its CPU-feature and cache probes, each a CPUID the hypervisor traps in
# a VM, tunables, IRELATIVE relocations) and its thread creation cost every
# process, the CLI and each container init, about an eighth of a run's
# CPU here. musl has no kernel headers of its own: the C finds the host's
# linux/ and asm/ ones in a directory of links. Only the runtime binary
# is built so; tests that link libseccomp build against glibc.
# encoding/json on top of Go's json v2: the first decode of a type (the
# spec in every command, the state in most) builds v1's reflection caches,
# which took 2.75 ms of CPU and 113 page faults for a busybox config here,
# v2's 1.4 ms; every command costs 1.2–2.2 ms less. v1's behaviour and
# errors are kept (the tests run on it too); an experiment of the
# toolchain go.mod names, to become the default.
# The Green Tea collector is off (nogreenteagc, the toolchain's opt-out):
# its spans keep their mark bits in their last bytes, which it writes
# when it hands a span out, so a fresh span costs a page fault at its
# tail on top of the one at its head. A command allocates some hundreds
# of KiB and never collects: an exec took 86 fewer page faults and 4% less
# CPU without it, a run 2%.
comma     := ,
export GOEXPERIMENT := jsonv2,nogreenteagc$(if $(GOEXPERIMENT),$(comma)$(GOEXPERIMENT))
MUSL_CC   := musl-gcc
KHEADERS  := $(CURDIR)/.cache/kernel-headers
MUSL_ENV  := CC=$(MUSL_CC) CGO_CFLAGS='-O2 -isystem $(KHEADERS)'

.PHONY: all build gofloor musl install deps demo test lint unit integration test-vm conformance bench fuzz e2e e2e-differential clean

all: build

# EXTRATAGS=ocirt_testhooks builds the test hooks in (integration tests).
EXTRATAGS ?=
GOBUILD    = $(MUSL_ENV) $(GO) build -trimpath -tags $(GOTAGS)$(EXTRATAGS:%=,%) -ldflags '$(LDFLAGS)'
build: musl
	$(GOBUILD) -o $(BINARY) .

# The bench's floor under the runtime's peak RSS (tests/bench/gofloor),
# linked exactly as the runtime is.
GOFLOOR ?= gofloor
gofloor: musl
	$(GOBUILD) -o $(GOFLOOR) ./tests/bench/gofloor

musl: $(KHEADERS)
	@command -v $(MUSL_CC) >/dev/null || { echo "$(MUSL_CC) not found: make deps installs it (musl-tools)" >&2; exit 1; }

$(KHEADERS):
	mkdir -p $@
	ln -sfn /usr/include/linux $@/linux
	ln -sfn /usr/include/asm-generic $@/asm-generic
	ln -sfn /usr/include/$$(gcc -print-multiarch)/asm $@/asm

install: build
	install -D -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/sbin/$(BINARY)

# Debian packages the build, the demo and the tests need.
deps:
	tests/install-deps.sh

# Installs what is missing, builds, and runs a real container.
demo: deps build
	tests/demo.sh

# Everything CI runs.
test: deps build lint unit integration test-vm conformance e2e-differential

# The lint gate: golangci-lint at a pinned version (installed once from the
# Go module proxy, outside the checkout so fresh clones reuse it),
# shellcheck on every script, the C's formatting, and generated files that
# must match their generators.
GOLANGCI_VERSION := v2.15.0
GOLANGCI := $(shell $(GO) env GOPATH)/bin/golangci-lint-$(GOLANGCI_VERSION)
$(GOLANGCI):
	GOBIN=$(dir $(GOLANGCI)).golangci-$(GOLANGCI_VERSION) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(dir $(GOLANGCI)).golangci-$(GOLANGCI_VERSION)/golangci-lint $@
	rmdir $(dir $(GOLANGCI)).golangci-$(GOLANGCI_VERSION)

# The second run covers the files only tagged builds compile: the VM and
# e2e tests and the test-hooks build (--build-tags replaces the config's).
LINT_EXTRATAGS := vmtest,e2e,ocirt_testhooks
lint: deps $(GOLANGCI)
	$(GOLANGCI) run ./...
	$(GOLANGCI) run --build-tags $(GOTAGS),libseccomp,$(LINT_EXTRATAGS) ./...
	shellcheck $$(git ls-files '*.sh') .ci/run
	clang-format --dry-run --Werror $$(git ls-files 'nsenter/*.c' 'nsenter/*.h')
	PATH="$$PATH:$$($(GO) env GOROOT)/bin" tests/check-generated.sh

# The differential seccomp tests compare with libseccomp (libseccomp-dev,
# installed by deps); without the tag everything builds without it.
unit: musl
	$(GO) vet -tags $(GOTAGS),libseccomp ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) test -tags $(GOTAGS),libseccomp -count=1 . ./internal/... ./cgroups/... ./seccomp/... ./nsenter/... ./libcontainer/... ./tests/bench/...
# Again with the C built as the runtime ships it.
	$(MUSL_ENV) $(GO) test -tags $(GOTAGS) -count=1 ./nsenter/... ./libcontainer/...

# Each fuzz target for FUZZTIME on one worker, not part of test. Inputs go
# to a tmpfs: two targets write a file per input. A failing input is saved
# in the package's testdata/fuzz/<Target>/, which every `go test` replays.
FUZZTIME ?= 1m
FUZZ_TARGETS := ./libcontainer/configs:FuzzLoadBundle ./libcontainer/configs:FuzzValidate \
	./libcontainer/configs:FuzzValidateID ./seccomp:FuzzCompile ./seccomp:FuzzDifferential \
	./libcontainer:FuzzStoreLoad ./libcontainer:FuzzStateJSONMatchesReflection \
	./internal/quickjson:FuzzMatchesEncodingJSON
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz: $$t for $(FUZZTIME)"; \
		TMPDIR=/dev/shm $(GO) test -tags $(GOTAGS),libseccomp -run '^$$' -fuzz "^$${t#*:}$$" \
			-fuzztime $(FUZZTIME) -parallel 1 "$${t%%:*}"; \
	done

integration: build
	$(GO) test -tags $(GOTAGS) -count=1 -timeout 20m ./tests/integration/...

# Test binaries are built here and run as root inside a throw-away qemu VM
# with a pure cgroup v2 hierarchy (this host is hybrid).
VMBIN := tests/vm/.cache/bin
test-vm: deps build
	mkdir -p $(VMBIN)
	$(MAKE) --no-print-directory build BINARY=$(VMBIN)/$(BINARY) EXTRATAGS=ocirt_testhooks
	$(GO) test -c -tags vmtest,$(GOTAGS) -o $(VMBIN)/ ./cgroups/...
	$(GO) test -c -tags vmtest,$(GOTAGS) -o $(VMBIN)/integration.test ./tests/integration/
	CGO_ENABLED=0 $(GO) build -o $(VMBIN)/unixsk ./tests/integration/testdata/unixsk
	CGO_ENABLED=0 $(GO) build -o $(VMBIN)/exeattack ./tests/integration/testdata/exeattack
# The engines' checkpoint and systemd tests need the engines and crictl
# (the VM runs the host's; test runs test-vm before e2e).
	tests/e2e/install.sh
	$(GO) test -c -tags e2e,$(GOTAGS) -o $(VMBIN)/e2e.test ./tests/e2e/
	tests/vm/run.sh --timeout 2400 --env OCIRT_BINARY=$(CURDIR)/$(VMBIN)/$(BINARY) \
		--env OCIRT_TESTDATA_BIN=$(CURDIR)/$(VMBIN) --env E2E_CRIU=1 -- \
		$(VMBIN)/cgroups.test -test.v -test.count=1 --- \
		$(VMBIN)/devices.test -test.v -test.count=1 --- \
		$(VMBIN)/fs.test -test.v -test.count=1 --- \
		$(VMBIN)/fs2.test -test.v -test.count=1 --- \
		$(VMBIN)/integration.test -test.run 'VM|^TestRuntimeBinary(OnOverlay|Overwrite|OverwriteExec)$$|^TestCreatePlanMatchesGoPath$$' -test.v -test.count=1 --- \
		$(VMBIN)/integration.test -test.run 'Criu|Checkpoint' -test.v -test.count=1 --- \
		sh -c 'mount -t tmpfs -o mode=1777 vartmp /var/tmp && cd /var/tmp && exec $(CURDIR)/$(VMBIN)/e2e.test -test.run Checkpoint -test.v'
	tests/vm/run.sh --cgroup v1 --timeout 1800 --env OCIRT_BINARY=$(CURDIR)/$(VMBIN)/$(BINARY) -- \
		$(VMBIN)/cgroups.test -test.run V1 -test.v -test.count=1 --- \
		$(VMBIN)/fs.test -test.run V1 -test.v -test.count=1 --- \
		$(VMBIN)/devices.test -test.run DevTransition -test.v -test.count=1 --- \
		$(VMBIN)/integration.test -test.run 'CgroupV1|Leniency' -test.v -test.count=1
# The e2e tests of Podman's and containerd's systemd cgroup manager, and
# rootless Podman under the user's systemd, run from tests/e2e, where the
# suite finds crictl.
	tests/vm/run.sh --init systemd --timeout 1500 --env OCIRT_BINARY=$(CURDIR)/$(VMBIN)/$(BINARY) -- \
		$(VMBIN)/integration.test -test.run '^TestSystemdUnit|^TestRootlessDelegated' -test.v -test.count=1 --- \
		env -C tests/e2e $(CURDIR)/$(VMBIN)/e2e.test -test.run '^TestSystemd|^TestPodmanRootless' -test.v -test.count=1

# The OCI runtime-tools validation suite; a program in the expected list
# that stops passing fails the build. Then its cgroup programs in the cgroup
# v2 VM (a few minutes); one doing worse than expected-vm.txt fails it too.
conformance: build
	tests/conformance/run.sh --runtime ./oci-rt --expect tests/conformance/expected-pass.txt
	tests/conformance/vm.sh --runtime ./oci-rt --expect tests/conformance/expected-vm.txt

# Start and exec latency and memory against runc and crun, on this host
# and in the cgroup v2 VM, the seccomp compiler against libseccomp, and
# checkpoint and restore of 256 MiB against runc in the VM.
bench: deps build
	tests/bench/run.sh
	$(GO) test -tags $(GOTAGS),libseccomp -count=1 -run TestBenchmarkFigures -v ./seccomp/
	tests/bench/vm.sh
	tests/bench/criu.sh

clean:
	rm -f $(BINARY)

# Real engines (containerd with ctr and CRI, Podman, Docker) on oci-rt, or on
# runc with RUNTIME=runc; see tests/e2e/README.md. A run passes when no
# check failed that runc passes on this host (runc's own results, from
# e2e-differential or an earlier RUNTIME=runc run, tell which).
# SOAK is how long cri/kubelet-soak runs its pod, exec-probe, stop, rm loop.
RUNTIME ?= oci-rt
SOAK ?= 5m
e2e: build
	tests/e2e/install.sh
	mkdir -p tests/e2e/.cache
	cd tests/e2e && RUNTIME=$(RUNTIME) OCIRT_BINARY=$(CURDIR)/$(BINARY) E2E_SOAK=$(SOAK) \
		$(GO) test -tags e2e,$(GOTAGS) -count=1 -timeout 25m -v . >.cache/e2e-$(RUNTIME).log 2>&1; \
		grep -E '^ *--- |^e2e on' .cache/e2e-$(RUNTIME).log; \
		grep -Eq '^e2e on $(RUNTIME): [0-9]+ passed, 0 failed' .cache/e2e-$(RUNTIME).log

# What CI runs: runc first, for the baseline (its own failures are the
# host's and are reported, not counted), then oci-rt against it. runc's soak
# is short: it only has to tell an engine's own leak from oci-rt's.
SOAK_BASELINE ?= 1m
e2e-differential: build
	$(MAKE) e2e RUNTIME=runc SOAK=$(SOAK_BASELINE) || echo "e2e: runc fails some checks on this host (listed above); they are not counted for oci-rt"
	$(MAKE) e2e RUNTIME=oci-rt
