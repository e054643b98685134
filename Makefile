# shim: a TypeScript planner (src/) over a static C helper (helper-c/), with proto/ as the contract.
#
#   make deps     install the system packages and npm modules the build and tests need (Debian 12, as root)
#   make build    dist/shim (the CLI, one self-contained bundle) and dist/shim-helper (static, stripped)
#   make demo     deps + build, then run a container from the built-in busybox image
#   make test     deps + build, then every test tier (unit, helper, integration) with a leak check
#   make bench    side-by-side benchmarks against runc, crun and bwrap (bench/RESULTS.md)
#   make base-image            a Debian 12 rootfs tar made with debootstrap, cached in /var/cache/shim (once a month)
#   make test-build-container  podman builds Dockerfile.build with shim as the runtime; the helper must match dist's
#   make install  dist/ into $(PREFIX)/lib/shim and the `shim` command into $(PREFIX)/bin

PREFIX      ?= /usr/local
BUILD       := build
DIST        := dist
GEN_C       := $(BUILD)/gen
GEN_TS      := src/spec/generated
# The seccomp compiler's syscall tables, generated from the kernel headers (scripts/gen-syscall-tables.mjs).
SYSCALL_TABLES := src/seccomp/generated/syscall-tables.ts
PREBUILT_FILTERS := src/seccomp/generated/prebuilt-filters.ts
NANOPB_INC  := $(BUILD)/nanopb-include
NANOPB_LIB  ?= /usr/lib/x86_64-linux-gnu/libprotobuf-nanopb.a

CC          := musl-gcc
# The compiler is a reviewer: warnings are errors. PB_ENABLE_MALLOC matches Debian's libprotobuf-nanopb.a.
CFLAGS      := -std=gnu11 -Os -static -fno-asynchronous-unwind-tables -ffunction-sections -fdata-sections \
               -Wall -Wextra -Werror -Wswitch-enum -Wshadow -Wformat=2 -Wundef -Wstrict-prototypes \
               -Wmissing-prototypes -Wno-unused-parameter -DPB_ENABLE_MALLOC -I$(GEN_C) -I$(NANOPB_INC) -Ihelper-c
LDFLAGS     := -static -s -Wl,--gc-sections

HELPER_SRC  := $(wildcard helper-c/*.c)
HELPER_HDR  := $(wildcard helper-c/*.h)
TS_SRC      := $(shell find src -name '*.ts' -not -path '$(GEN_TS)/*' -not -path 'src/seccomp/generated/*' 2>/dev/null)

APT_PACKAGES := make gcc binutils musl-tools nanopb libnanopb-dev protobuf-compiler python3-protobuf busybox-static \
                file runc procps \
                iproute2 tmux util-linux

.PHONY: all build deps deps-system deps-npm demo test test-unit test-helper test-integration test-interop bench install launcher \
        uninstall clean helper cli typecheck base-image test-build-container fuzz fuzz-build

all: build

# The real callers the interop tier drives, and the peers the bench compares against (Debian's packages):
# podman (with conmon and containers-common's seccomp.json), containerd's ctr, buildah, crun; debootstrap makes
# the Debian base image the build container needs; uidmap gives podman its --uidmap helpers.
APT_PACKAGES += podman conmon golang-github-containers-common containerd buildah crun debootstrap uidmap hyperfine
# Syscall tables for the seccomp compiler, read from the kernel headers of each architecture; a 32-bit libc to
# build the i386 syscall probe.
APT_PACKAGES += linux-libc-dev linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross gcc-multilib libc6-dev-i386
# Networking through the CNI plugins, and the firewall they program.
APT_PACKAGES += containernetworking-plugins iptables

# jq: scripts/build-container.sh and bench/podman.sh read `shim features` and podman's JSON with it.
APT_PACKAGES += jq

# getfattr: commit and diff read overlay's opaque-directory xattr from a container's upper dir with it.
APT_PACKAGES += attr

build: helper cli launcher

helper: $(DIST)/shim-helper
cli: $(DIST)/shim.cjs $(DIST)/shim
launcher: $(DIST)/containerd-shim-shim-v2

# --- the contract ---------------------------------------------------------------------------------------
$(NANOPB_INC)/pb.h:
	mkdir -p $(NANOPB_INC)
	# Only nanopb's headers: the glibc headers beside them in /usr/include must not shadow musl's.
	ln -sf /usr/include/pb.h /usr/include/pb_common.h /usr/include/pb_decode.h /usr/include/pb_encode.h $(NANOPB_INC)/

$(GEN_C)/shim.pb.c $(GEN_C)/shim.pb.h: proto/shim.proto proto/shim.options
	mkdir -p $(GEN_C)
	protoc --plugin=protoc-gen-nanopb=/usr/bin/protoc-gen-nanopb --nanopb_opt=-fproto/shim.options \
	       --nanopb_out=$(GEN_C) -Iproto proto/shim.proto

# containerd's API (proto/containerd/README.md), for the runtime v2 server only: src/containerd/ loads it, the CLI never.
CONTAINERD_PROTO := $(addprefix proto/containerd/,ttrpc.proto types.proto task-types.proto shim.proto events.proto cgroups-v1-metrics.proto cgroups-v2-metrics.proto runc-options.proto runtime-options.proto)
GEN_CONTAINERD   := src/containerd/generated

$(GEN_CONTAINERD)/containerd.js $(GEN_CONTAINERD)/containerd.d.ts: $(CONTAINERD_PROTO) node_modules/.package-lock.json
	mkdir -p $(GEN_CONTAINERD)
	npx pbjs -t static-module -w es6 --es6 --no-verify --no-convert --no-delimited --force-number \
	     -p proto/containerd -o $(GEN_CONTAINERD)/containerd.js $(CONTAINERD_PROTO)
	npx pbts -o $(GEN_CONTAINERD)/containerd.d.ts $(GEN_CONTAINERD)/containerd.js

$(GEN_TS)/shim.js $(GEN_TS)/shim.d.ts: proto/shim.proto node_modules/.package-lock.json
	mkdir -p $(GEN_TS)
	npx pbjs -t static-module -w es6 --es6 --no-verify --no-convert --no-delimited --force-number \
	     -o $(GEN_TS)/shim.js proto/shim.proto
	npx pbts -o $(GEN_TS)/shim.d.ts $(GEN_TS)/shim.js

# What the CLI itself loads (src/spec/encode-spec.ts): the Spec's encoders without any decoder, and the decoder
# of Status frames alone (scripts/proto-subset.mjs), each with a protobufjs root of its own; shim.js above,
# with both directions for every message, is for the tests. A create loads ~30 KB less generated code.
$(GEN_TS)/spec-encode.js $(GEN_TS)/spec-encode.d.ts: proto/shim.proto node_modules/.package-lock.json
	mkdir -p $(GEN_TS)
	npx pbjs -t static-module -w es6 --es6 --no-verify --no-convert --no-delimited --no-create --no-typeurl --no-decode --force-number \
	     -r shim-encode -o $(GEN_TS)/spec-encode.js proto/shim.proto
	npx pbts -o $(GEN_TS)/spec-encode.d.ts $(GEN_TS)/spec-encode.js

$(GEN_TS)/status-decode.js $(GEN_TS)/status-decode.d.ts: proto/shim.proto scripts/proto-subset.mjs node_modules/.package-lock.json
	mkdir -p $(GEN_TS) $(BUILD)
	npx pbjs -t json -o $(BUILD)/shim-proto.json proto/shim.proto
	node scripts/proto-subset.mjs $(BUILD)/shim-proto.json $(BUILD)/status-proto.json shim.v1 Status Error StatusKind Stage
	npx pbjs -t static-module -w es6 --es6 --no-verify --no-convert --no-delimited --no-create --no-typeurl --no-encode --force-number \
	     -r shim-status -o $(GEN_TS)/status-decode.js $(BUILD)/status-proto.json
	npx pbts -o $(GEN_TS)/status-decode.d.ts $(GEN_TS)/status-decode.js

# Not committed: made from the headers of linux-libc-dev and the -cross packages on every build machine.
$(SYSCALL_TABLES): scripts/gen-syscall-tables.mjs
	node scripts/gen-syscall-tables.mjs $@

# The built-in default seccomp profile compiled at build time (scripts/gen-prebuilt-filters.mjs says why): made
# by the compiler and tables of this checkout, so it depends on every seccomp source.
$(PREBUILT_FILTERS): scripts/gen-prebuilt-filters.mjs $(SYSCALL_TABLES) $(wildcard src/seccomp/*.ts) src/plan/runtime-defaults.ts
	node scripts/gen-prebuilt-filters.mjs $@

# --- the helper -----------------------------------------------------------------------------------------
$(DIST)/shim-helper: $(HELPER_SRC) $(HELPER_HDR) $(GEN_C)/shim.pb.c $(GEN_C)/shim.pb.h $(NANOPB_INC)/pb.h
	mkdir -p $(DIST)
	$(CC) $(CFLAGS) -o $@ $(HELPER_SRC) $(GEN_C)/shim.pb.c $(NANOPB_LIB) $(LDFLAGS)
	@size=$$(stat -c %s $@); echo "shim-helper: $$size bytes"; \
	  if [ $$size -gt 131072 ]; then echo "shim-helper is over 128 KiB" >&2; rm -f $@; exit 1; fi

# containerd's runtime v2 entry (src/containerd/launcher.c says why it is C): through a new file renamed over the
# old, as a running containerd may be executing it (a write over it fails with ETXTBSY).
$(DIST)/containerd-shim-shim-v2: src/containerd/launcher.c src/cli/proc-read.h
	mkdir -p $(DIST)
	$(CC) $(CFLAGS) -o $@.tmp $< $(LDFLAGS)
	mv -f $@.tmp $@

# dist/shim, the command itself (src/cli/shim-launcher.c says why it is C), naming the node that builds dist/ (the
# node that runs it: dist/ is built where it is installed). Renamed over the old as above: a running podman or
# containerd may be executing it. `=`, not `:=`: node starts only when this recipe runs, not for every make.
NODE_BIN = $(shell node -p process.execPath 2>/dev/null)
$(DIST)/shim: src/cli/shim-launcher.c src/cli/proc-read.h
	mkdir -p $(DIST)
	$(CC) $(CFLAGS) -DSHIM_NODE='"$(NODE_BIN)"' -o $@.tmp $< $(LDFLAGS)
	mv -f $@.tmp $@

# --- fuzzing (helper-c/fuzz/README.md) -------------------------------------------------------------------
# libFuzzer harnesses over the helper's own C (every file but main.c, unchanged), built by clang for glibc with
# AddressSanitizer and UndefinedBehaviorSanitizer: a separate build in build/fuzz that never touches
# dist/shim-helper. Debian's nanopb ships only its library, so nanopb itself runs uninstrumented.
# clang: libFuzzer and the sanitizers come with it.
APT_PACKAGES += clang
FUZZ_DIR       := $(BUILD)/fuzz
FUZZ_SECONDS   ?= 60
FUZZ_HARNESSES := $(patsubst helper-c/fuzz/fuzz-%.c,%,$(wildcard helper-c/fuzz/fuzz-*.c))
FUZZ_BINS      := $(addprefix $(FUZZ_DIR)/fuzz-,$(FUZZ_HARNESSES))
# glibc keeps ST_* (statvfs flags) in sys/statvfs.h where musl has them in sys/statfs.h.
FUZZ_CFLAGS    := -std=gnu11 -g -O1 -D_GNU_SOURCE -Wno-macro-redefined -include sys/statvfs.h \
                  -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
                  -Wall -Wextra -Werror -Wno-unused-parameter -DPB_ENABLE_MALLOC -I$(GEN_C) -I$(NANOPB_INC) -Ihelper-c
FUZZ_OBJS      := $(patsubst helper-c/%.c,$(FUZZ_DIR)/obj/%.o,$(filter-out helper-c/main.c,$(HELPER_SRC))) \
                  $(FUZZ_DIR)/obj/shim.pb.o

$(FUZZ_DIR)/obj/%.o: helper-c/%.c $(HELPER_HDR) $(GEN_C)/shim.pb.h $(NANOPB_INC)/pb.h
	@mkdir -p $(FUZZ_DIR)/obj
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/obj/shim.pb.o: $(GEN_C)/shim.pb.c $(GEN_C)/shim.pb.h $(NANOPB_INC)/pb.h
	@mkdir -p $(FUZZ_DIR)/obj
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libhelper.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz-%: helper-c/fuzz/fuzz-%.c $(FUZZ_DIR)/libhelper.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libhelper.a $(NANOPB_LIB)

fuzz-build: $(FUZZ_BINS)

# Every harness for FUZZ_SECONDS (default 60) from the committed seeds; the corpus grows in build/fuzz/corpus.
fuzz: fuzz-build
	bash scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

# --- the CLI --------------------------------------------------------------------------------------------
$(DIST)/shim.cjs: $(TS_SRC) $(GEN_TS)/shim.js $(GEN_TS)/spec-encode.js $(GEN_TS)/status-decode.js $(GEN_CONTAINERD)/containerd.js $(SYSCALL_TABLES) $(PREBUILT_FILTERS) scripts/bundle.mjs scripts/esbuild-options.mjs scripts/lazy-builtins.mjs package.json
	node scripts/bundle.mjs

typecheck: $(GEN_TS)/shim.js $(GEN_TS)/spec-encode.js $(GEN_TS)/status-decode.js $(GEN_CONTAINERD)/containerd.js $(SYSCALL_TABLES) $(PREBUILT_FILTERS)
	npx tsc -p tsconfig.json

# --- dependencies ---------------------------------------------------------------------------------------
deps: deps-system deps-npm

deps-system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	 command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	 if [ -n "$$missing" ]; then \
	   echo "installing:$$missing"; \
	   apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	 fi

deps-npm: node_modules/.package-lock.json

# npm ci installs exactly what package-lock.json names and never rewrites it: a build is reproducible from the
# lockfile, and a package.json that disagrees with it fails here instead of drifting.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-fund --no-audit
	@touch $@

# --- entry points ---------------------------------------------------------------------------------------
demo: deps build
	$(DIST)/shim run --rm busybox sh -c 'echo "hello from $$(hostname), pid $$$$"; ps; echo "mounts: $$(wc -l < /proc/mounts)"'

test: deps build typecheck fuzz-build
	node scripts/run-tests.mjs
	bash scripts/build-container.sh

test-unit: build
	npx vitest run --project unit

test-helper: build
	npx vitest run --project helper

test-integration: build
	npx vitest run --project integration

test-interop: build
	npx vitest run --project interop

# The base image of Dockerfile.build: debootstrap once per machine and month (scripts/base-image.sh).
base-image:
	bash scripts/base-image.sh

# podman build of Dockerfile.build with shim as the runtime of every RUN step (scripts/build-container.sh).
test-build-container: build
	bash scripts/build-container.sh

bench: deps build
	bash bench/run.sh
	bash bench/containerd.sh
	# The cold CLI's targets (issue 15) alone, each in one hyperfine call with what it is measured against.
	bash bench/cli.sh >bench/RESULTS-cli.md
	# 500 running containers: list, state, exec and delete against 0 running; correctness; monitors' memory.
	bash bench/scale.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/shim $(DESTDIR)$(PREFIX)/bin
	@# A new lib/ replaces the old one whole: no file (or code cache) of the old build stays beside the new.
	rm -rf $(DESTDIR)$(PREFIX)/lib/shim/lib
	cp -a $(DIST)/. $(DESTDIR)$(PREFIX)/lib/shim/
	ln -sf ../lib/shim/shim $(DESTDIR)$(PREFIX)/bin/shim
	@# containerd finds runtime v2 shims on PATH by name: io.containerd.shim.v2 -> containerd-shim-shim-v2.
	ln -sf ../lib/shim/containerd-shim-shim-v2 $(DESTDIR)$(PREFIX)/bin/containerd-shim-shim-v2

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/shim $(DESTDIR)$(PREFIX)/bin/shim $(DESTDIR)$(PREFIX)/bin/containerd-shim-shim-v2

clean:
	rm -rf $(BUILD) $(DIST) $(GEN_TS) src/seccomp/generated
