# ringbroker - one entry point.
#   make            release build: build/bin/ringbroker, build/bin/ringctl
#   make run        start one standalone broker on 127.0.0.1:9092 (data in ./data)
#   make test       unit tests (release + ASan/UBSan), simulation, integration tests, short fuzz run
#   make unit       unit tests only      make asan   unit tests under ASan/UBSan
#   make integration                     make fuzz   libFuzzer targets (FUZZ_SECONDS=60)
#   make interop    client interop suite make bench  perf harness (perf/README.md)
#   make lint       clang-format + include rules   make gen    regenerate protocol codecs
#   make sim        deterministic simulation (SEEDS=N, SEED=S; tests/sim/README.md)
#   make sim-selftest  the simulator against planted defects (must catch each)
#   make clean
# Every source file under core/ storage/ part/ coord/ net/ is part of the broker
# library; cmd/broker.c assembles a broker from it (the composition root), linked
# into the daemon (cmd/ringbroker.c, its entry point) and the simulator
# (tests/sim/, build/sim/ringsim). Tests are tests/unit/test_*.c, one binary each.

# `make` alone builds `all` (the simulator's rule comes first in the file).
.DEFAULT_GOAL := all
MODE     ?= release
BUILD_ROOT ?= build
CC       ?= gcc
ifeq ($(origin CC),default)
CC       := gcc
endif
OUT      := $(BUILD_ROOT)/$(MODE)
ifeq ($(MODE),release)
BIN      := $(BUILD_ROOT)/bin
else
BIN      := $(OUT)/bin
endif
DEPS_OK  := build/.deps-ok

WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wmissing-prototypes -Wno-format-truncation
CFLAGS_COMMON := -std=gnu11 -g -D_GNU_SOURCE -I. -pthread $(WARN) -MMD -MP
ifeq ($(MODE),asan)
CFLAGS_MODE := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_MODE := -fsanitize=address,undefined
else ifeq ($(MODE),simdef)
CFLAGS_MODE := -O2 -DRB_SIM_DEFECTS
LDFLAGS_MODE :=
else
CFLAGS_MODE := -O2
LDFLAGS_MODE :=
endif
CFLAGS   := $(CFLAGS_COMMON) $(CFLAGS_MODE) $(EXTRA_CFLAGS)
# The quorum backends (coord/quorum_zk.c, coord/quorum_etcd.c).
QUORUM_LIBS := -lzookeeper_mt -lcurl -ljansson
# Code calls plain malloc/free; release builds link mimalloc, which replaces them
# process-wide. ASan builds keep the sanitizer's allocator.
ifeq ($(MODE),asan)
LIBS     := -luring -llz4 -lzstd -lsnappy -lisal -lz -lpthread -lm $(QUORUM_LIBS)
else
LIBS     := -luring -lmimalloc -llz4 -lzstd -lsnappy -lisal -lz -lpthread -lm $(QUORUM_LIBS)
endif

LIB_SRCS := $(sort $(wildcard core/*.c storage/*.c part/*.c coord/*.c net/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(OUT)/obj/%.o)
LIB_A    := $(OUT)/libringbroker.a
# The broker's assembly (cmd/broker.c), linked into the daemon and the simulator alike.
BROKER_OBJS := $(OUT)/obj/cmd/broker.o
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(OUT)/tests/%)
CTL_SRCS := $(sort $(wildcard tools/ringctl*.c))
HELPER_SRCS := $(sort $(wildcard tests/clients/*.c))
HELPER_BINS := $(HELPER_SRCS:tests/clients/%.c=build/clients/%)

.DEFAULT_GOAL := all
.PHONY: sim sim-selftest
SIM_SRCS := $(sort $(wildcard tests/sim/*.c))
ifeq ($(MODE),release)
SIM_BIN  := $(BUILD_ROOT)/sim/ringsim
else
SIM_BIN  := $(OUT)/sim/ringsim
endif
SEEDS    ?= 40
SIM_BUDGET ?= 40
$(SIM_BIN): $(SIM_SRCS:%.c=$(OUT)/obj/%.o) $(BROKER_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_MODE) -o $@ $^ $(LIBS)

# Seeds of the deterministic simulation (tests/sim/README.md): the real broker
# (cmd/broker.c's assembly) with every shard stepped from one thread on a simulated
# ring, clock, disk and network. SEEDS=N seeds from SEED (default: a time-based
# base, printed); a failure prints the seed and the command that replays it.
# MODE=asan runs build/asan/sim/ringsim (ASan/UBSan).
sim: $(SIM_BIN)
	@$(SIM_BIN) --seeds $(SEEDS) $(if $(SEED),--seed $(SEED))
	@$(SIM_BIN) --cluster --seeds $(SEEDS) $(if $(SEED),--seed $(SEED))
	@$(SIM_BIN) --repl --seeds $(SEEDS) $(if $(SEED),--seed $(SEED))

# The simulator built against planted defects (core/defect.h, MODE=simdef in
# build/simdef/): each must be caught by some seed of 1..SIM_BUDGET.
sim-selftest:
	@$(MAKE) --no-print-directory MODE=simdef $(BUILD_ROOT)/simdef/sim/ringsim
	@$(BUILD_ROOT)/simdef/sim/ringsim --selftest $(SIM_BUDGET)

.PHONY: all run test unit asan integration integration-asan abuse interop fuzz fuzz-build bench lint gen gen-check clean deps helpers

all: $(BIN)/ringbroker $(if $(CTL_SRCS),$(BIN)/ringctl) helpers

deps: $(DEPS_OK)
$(DEPS_OK): tools/install-deps.sh
	@mkdir -p build
	@tools/install-deps.sh --check >/dev/null 2>&1 || tools/install-deps.sh
	@touch $@

$(OUT)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The metrics endpoint's thread (cmd/metrics*.c) and the fatal-signal report (cmd/crash.c):
# the daemon's, not the simulator's.
DAEMON_OBJS := $(OUT)/obj/cmd/metrics.o $(OUT)/obj/cmd/metrics_render.o $(OUT)/obj/cmd/crash.o
$(BIN)/ringbroker: $(OUT)/obj/cmd/ringbroker.o $(DAEMON_OBJS) $(BROKER_OBJS) $(LIB_A)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_MODE) -o $@ $^ $(LIBS)

$(BIN)/ringctl: $(CTL_SRCS:%.c=$(OUT)/obj/%.o) $(LIB_A)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_MODE) -o $@ $^ -lrdkafka $(LIBS)

helpers: $(HELPER_BINS)
build/clients/%: tests/clients/%.c | $(DEPS_OK)
	@mkdir -p build/clients
	$(CC) $(CFLAGS_COMMON) -O2 -o $@ $< -lrdkafka -lm

$(OUT)/tests/%: tests/unit/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) -lcriterion $(LDFLAGS_MODE) $(LIBS)

run: all
	@mkdir -p data
	$(BIN)/ringbroker config/server.properties

# Unit tests: every binary runs; the summary line counts them all.
unit: $(TEST_BINS)
	@tools/run-unit-tests.sh $(TEST_BINS)

asan:
	@$(MAKE) --no-print-directory MODE=asan unit

integration: all
	@RINGBROKER_BIN=$(abspath $(BIN))/ringbroker tests/integration/run-all.sh

# Abuse tests (tests/abuse/README.md): hostile clients against a broker under a
# reduced fd limit and memory budget; figures from /proc.
abuse: all
	@RINGBROKER_BIN=$(abspath $(BIN))/ringbroker tests/abuse/run-all.sh

# The integration suite against the ASan/UBSan build of the broker: any memory error
# or undefined behaviour aborts the broker, and the test that drove it fails.
integration-asan:
	@$(MAKE) --no-print-directory MODE=asan $(BUILD_ROOT)/asan/bin/ringbroker $(BUILD_ROOT)/asan/bin/ringctl helpers
	@ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  RINGBROKER_BIN=$(abspath $(BUILD_ROOT))/asan/bin/ringbroker tests/integration/run-all.sh

interop: all
	@tests/interop/run-all.sh

# The quorum interface (coord/quorum.h) against a real 3-node ZooKeeper ensemble
# and a real 3-member etcd cluster: tests/quorum/conformance.c, driven by
# tests/quorum/run.sh and tests/quorum/run_etcd.sh (both run; fails if either does).
QUORUM_TEST := $(OUT)/tests/quorum_conformance
$(QUORUM_TEST): tests/quorum/conformance.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS_MODE) $(LIBS)
# Multis whose ops depend on earlier ops of the same multi (run by run_etcd.sh).
QUORUM_MULTI := $(OUT)/tests/quorum_multi_order
$(QUORUM_MULTI): tests/quorum/multi_order.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS_MODE) $(LIBS)
.PHONY: quorum-test
quorum-test: $(QUORUM_TEST) $(QUORUM_MULTI)
	@rc=0; tests/quorum/run.sh $(abspath $(QUORUM_TEST)) || rc=1; \
	  tests/quorum/run_etcd.sh $(abspath $(QUORUM_TEST)) || rc=1; exit $$rc

# Cluster tests (tests/cluster/): real ZooKeeper/etcd quorums + 3 brokers on loopback.
# CLUSTER_TESTS="t_registration t_k28_topics" runs some. `make test` runs the etcd
# ones and the ZooKeeper ones in its two lanes (cluster-test-etcd, cluster-test-zk).
CLUSTER_ALL  := $(sort $(notdir $(basename $(wildcard tests/cluster/t_*.sh))))
CLUSTER_ETCD := $(filter t_etcd_% t_ringctl_etcd,$(CLUSTER_ALL))
CLUSTER_ZK   := $(filter-out $(CLUSTER_ETCD),$(CLUSTER_ALL))
.PHONY: cluster-test cluster-test-etcd cluster-test-zk
cluster-test: all
	@RINGBROKER_BIN=$(abspath $(BIN))/ringbroker tests/cluster/run-all.sh $(CLUSTER_TESTS)
cluster-test-etcd: all
	@RINGBROKER_BIN=$(abspath $(BIN))/ringbroker tests/cluster/run-all.sh $(CLUSTER_ETCD)
cluster-test-zk: all
	@RINGBROKER_BIN=$(abspath $(BIN))/ringbroker tests/cluster/run-all.sh $(CLUSTER_ZK)

FUZZ_SECONDS ?= 60
SIM_TEST_SEEDS ?= 20
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_LIB_SRCS := $(LIB_SRCS)
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) | $(DEPS_OK)
	@mkdir -p build/fuzz
	clang $(CFLAGS_COMMON) -Wno-unknown-warning-option -Wno-missing-prototypes -O1 -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB_SRCS) -luring -llz4 -lzstd -lsnappy -lisal -lz -lpthread -lm $(QUORUM_LIBS)
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@tools/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

.PHONY: perf
perf: | $(DEPS_OK)
	@$(MAKE) --no-print-directory -C perf OUT=$(abspath $(BUILD_ROOT))/perf

bench: all perf
	@BUILD_ROOT=$(abspath $(BUILD_ROOT)) perf/run $(SCENARIOS)

# Tests: lint (clang-format, include rules), release unit tests, SIM_TEST_SEEDS seeds
# of the simulation (tests/sim/), the unit tests under ASan/UBSan, the codec staleness check,
# integration against the release and the ASan/UBSan broker, the client interop suite
# (Kafka's Java tools, kafkajs, franz-go), a bounded fuzz run.
# The suites that start real processes (and the container test) run in two lanes at once
# 2 cores and these suites mostly wait); -Orecurse keeps each suite's output whole.
test: all
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory sim SEEDS=$(SIM_TEST_SEEDS)
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory gen-check
	@$(MAKE) --no-print-directory -j2 -Orecurse test-lane-a test-lane-b

.PHONY: test-lane-a test-lane-b
test-lane-a:
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory abuse
	@$(MAKE) --no-print-directory interop
	@$(MAKE) --no-print-directory quorum-test
	@$(MAKE) --no-print-directory cluster-test-etcd
	@$(MAKE) --no-print-directory test-deploy-scripts
	@$(MAKE) --no-print-directory test-container
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
test-lane-b:
	@$(MAKE) --no-print-directory integration-asan
	@$(MAKE) --no-print-directory cluster-test-zk

gen:
	python3 tools/gen_codec.py net/protocol.def net/proto_gen

gen-check:
	@python3 tools/gen_codec.py --check net/protocol.def net/proto_gen

lint:
	@tools/lint.sh
	@$(MAKE) --no-print-directory lint-shell

# shellcheck of the deploy scripts (container/, tests/container/).
SHELL_SCRIPTS = $(wildcard container/*.sh container/*/*.sh tests/container/*.sh)
.PHONY: lint-shell
lint-shell:
	@shellcheck -x $(SHELL_SCRIPTS) && echo "lint-shell: $(words $(SHELL_SCRIPTS)) scripts clean"

clean:
	rm -rf build

-include $(SIM_SRCS:%.c=$(OUT)/obj/%.d)
-include $(LIB_OBJS:.o=.d) $(OUT)/obj/cmd/ringbroker.d $(BROKER_OBJS:.o=.d) $(CTL_SRCS:%.c=$(OUT)/obj/%.d) $(TEST_BINS:%=%.d)
-include $(QUORUM_TEST).d $(QUORUM_MULTI).d
-include $(DAEMON_OBJS:.o=.d)

# Install for a bare host (container/systemd/): make install PREFIX=/usr/local
# [DESTDIR=staging]. The binaries, server.properties (kept when present) and the
# systemd unit with its paths filled in. tests/container/test_install.sh checks it.
PREFIX     ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
.PHONY: install
install: $(BIN)/ringbroker $(BIN)/ringctl
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/ringbroker $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN)/ringbroker $(BIN)/ringctl $(DESTDIR)$(PREFIX)/bin/
	@if [ -f $(DESTDIR)$(SYSCONFDIR)/ringbroker/server.properties ]; then \
	    echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/ringbroker/server.properties"; \
	else \
	    sed 's|^log.dirs=.*|log.dirs=/var/lib/ringbroker|' config/server.properties \
	        >$(DESTDIR)$(SYSCONFDIR)/ringbroker/server.properties; \
	fi
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    container/systemd/ringbroker.service.in >$(DESTDIR)$(UNITDIR)/ringbroker.service

# The broker image built and run for real under podman (tests/container/
# test-container.sh: build, seccomp, kill -9 + restart policy, Prometheus, stop;
# test_compose_cluster.sh: compose.yaml's 3 ZooKeeper + 3 brokers, RF=1).
# Not part of `make test` yet. The entry point and install tests run without
# containers.
.PHONY: test-container test-deploy-scripts
test-container: all
	@tests/container/test-container.sh
	@tests/container/test_compose_cluster.sh
test-deploy-scripts: all
	@tests/container/test_entrypoint.sh
	@tests/container/test_install.sh
	@tests/container/test_compose.sh
	@/usr/bin/python3 tests/container/check_k8s.py container/k8s/*.yaml
	@/usr/bin/python3 tests/container/check_k8s.py --selftest container/k8s/*.yaml
	@/usr/bin/python3 tests/container/check_k8s_cluster.py container/k8s
	@/usr/bin/python3 tests/container/check_k8s_cluster.py --selftest container/k8s
