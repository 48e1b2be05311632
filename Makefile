# jobrun — see README.  `make` builds ./jobrun; `make check` sets up a Docker engine and
# the test image if needed (t/setup) and runs the whole suite; SAN=1 builds with ASan+UBSan.
PKGS    = yaml-0.1 sqlite3 ncursesw libarchive libmicrohttpd
CC     ?= cc
CFLAGS ?= -O2 -g
# What the code needs whatever CFLAGS a user gives (make CFLAGS=... keeps these).
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ivendor
ifeq ($(SAN),1)
override CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
# libarchive, SQLite, ncurses and libmicrohttpd are not linked: jobrun loads
# them (dlopen) when a verb first needs them (export/import, the store, top's
# live view, daemon --listen), so that submit loads none (libarchive needs 12
# libraries; SQLite's relocations cost 1 ms, ncurses' 0.2 ms).
PKG_LIBS   = $(shell pkg-config --libs $(filter-out libarchive sqlite3 ncursesw libmicrohttpd,$(PKGS))) -ldl
PROVE_J   ?= 2
# The longest test: prove starts it first.
SLOW_T     = t/0350-crash-walk.t

VENDOR_SRC = $(wildcard vendor/*.c)
VENDOR_OBJ = $(VENDOR_SRC:.c=.o)
UNIT_SRC   = $(wildcard t/unit/*.c)
UNIT_BIN   = $(UNIT_SRC:.c=)

all: jobrun

# Rebuild everything when the flags change (say, SAN=1 and back).
.flags: FORCE
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@

jobrun: jobrun.c jobrun.h $(VENDOR_OBJ) .flags
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@.tmp jobrun.c $(VENDOR_OBJ) $(LDFLAGS) $(PKG_LIBS)
	mv -f $@.tmp $@

# The crash-test build: the daemon with failpoints ("Failpoints" in jobrun.c),
# which t/0350-crash-walk.t walks one by one.
crashtest: jobrun-crashtest

jobrun-crashtest: jobrun.c jobrun.h $(VENDOR_OBJ) .flags
	$(CC) $(CFLAGS) -DJOBRUN_CRASHTEST $(PKG_CFLAGS) -o $@.tmp jobrun.c $(VENDOR_OBJ) $(LDFLAGS) $(PKG_LIBS)
	mv -f $@.tmp $@

vendor/%.o: vendor/%.c vendor/%.h .flags
	$(CC) $(CFLAGS) -c -o $@ $<

# (libyaml: t/unit/buf reads its JSON back as YAML, as the spool does)
t/unit/%: t/unit/%.c $(VENDOR_OBJ) .flags
	$(CC) $(CFLAGS) -o $@ $< $(VENDOR_OBJ) $(LDFLAGS) $(shell pkg-config --libs yaml-0.1)

units: $(UNIT_BIN)

# Writes and syncs that fail on demand, preloaded by t/0360-inject.t (usage at
# the top of t/inject.c); never built with the sanitizers, which a preloaded
# library must not bring.
t/inject.so: t/inject.c
	$(CC) -std=gnu11 -O2 -Wall -Wextra -shared -fPIC -o $@ t/inject.c -ldl

# The HTTP server the webhook tests post to (usage at the top of t/hooksink.c).
t/hooksink: t/hooksink.c .flags
	$(CC) $(CFLAGS) -o $@ t/hooksink.c $(LDFLAGS)

# The one test command (README, .ci/run): installs what is missing, then runs
# everything: a bounded fuzz run, then the unit tests and the end-to-end suite
# (prove's summary is the last thing it prints).
check:
	sh t/setup
	$(MAKE) jobrun jobrun-crashtest units t/hooksink t/inject.so
	$(MAKE) fuzz
	prove -j$(PROVE_J) $(SLOW_T) $(UNIT_BIN) $(filter-out $(SLOW_T),$(wildcard t/*.t))

demo:
	sh t/setup
	$(MAKE) jobrun
	sh t/demo

bench: jobrun
	sh t/bench/run

lint-man:
	mandoc -T lint -W warning man/jobrun.1 man/jobrun-job.5

# Fuzzing (issues 3, 10, 12): `make fuzz` builds the libFuzzer targets t/fuzz/expr_fuzz
# (the expression module), t/fuzz/cron_fuzz (cron expressions), t/fuzz/spec_fuzz (the
# job-file parser, jobrun.c included whole) and t/fuzz/ingest_fuzz (submit's checks against the daemon's ingest, on
# spec's corpus) with clang, then runs each for FUZZ_SECONDS (default 15) on a copy
# of its seed corpus t/fuzz/corpus/NAME.  It fails when one finds a crash, a leak, a hang
# or a broken check; the input is kept as t/fuzz/artifacts/NAME-crash-* and the
# fuzzer's output in t/fuzz/NAME.log.  Replay one: t/fuzz/NAME_fuzz FILE.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 15
FUZZ_CFLAGS   = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE -Ivendor
FUZZ_PKGS     = yaml-0.1 sqlite3 libarchive ncursesw libmicrohttpd

t/fuzz/expr_fuzz: t/fuzz/expr_fuzz.c vendor/expr.c vendor/expr.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/expr_fuzz.c vendor/expr.c -lm

t/fuzz/cron_fuzz: t/fuzz/cron_fuzz.c vendor/cron.c vendor/cron.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/cron_fuzz.c vendor/cron.c

t/fuzz/spec_fuzz t/fuzz/ingest_fuzz: t/fuzz/%_fuzz: t/fuzz/%_fuzz.c jobrun.c jobrun.h \
    $(VENDOR_SRC) $(wildcard vendor/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(FUZZ_PKGS)) -o $@ \
	    $< $(VENDOR_SRC) $(shell pkg-config --libs $(FUZZ_PKGS)) -lm

fuzz: t/fuzz/expr_fuzz t/fuzz/cron_fuzz t/fuzz/spec_fuzz t/fuzz/ingest_fuzz
	@for r in t/fuzz/repro/spec/*; do \
	    t/fuzz/spec_fuzz "$$r" >/dev/null 2>&1 || { echo "fuzz: $$r fails again"; exit 1; }; \
	    t/fuzz/ingest_fuzz "$$r" >/dev/null 2>&1 || { echo "fuzz: $$r fails ingest_fuzz"; exit 1; }; \
	done; echo "fuzz: $$(ls t/fuzz/repro/spec | wc -l) earlier findings replayed"
	@mkdir -p t/fuzz/artifacts; rc=0; \
	for f in expr cron spec ingest; do \
	    w=$$(mktemp -d "$${TMPDIR:-/tmp}/jobrun-fuzz-$$f.XXXXXX") || exit 1; \
	    c=$$f; [ $$f = ingest ] && c=spec; \
	    cp -R t/fuzz/corpus/$$c/. "$$w/"; \
	    d=; [ -f t/fuzz/$$c.dict ] && d=-dict=t/fuzz/$$c.dict; \
	    echo "fuzz: $$f for $(FUZZ_SECONDS)s ($$(ls "$$w" | wc -l) seeds)"; \
	    if t/fuzz/$${f}_fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        -print_final_stats=1 -artifact_prefix=t/fuzz/artifacts/$$f- $$d "$$w" \
	        >t/fuzz/$$f.log 2>&1; then \
	        grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' t/fuzz/$$f.log | sed 's/^/    /'; \
	        echo "    corpus: $$(ls "$$w" | wc -l) inputs; nothing found"; \
	    else \
	        rc=1; tail -n 40 t/fuzz/$$f.log; \
	        echo "fuzz: $$f FOUND A PROBLEM: $$(ls -t t/fuzz/artifacts/$$f-* 2>/dev/null | head -n 1) (log: t/fuzz/$$f.log)"; \
	    fi; \
	    rm -rf "$$w"; \
	done; exit $$rc

.PHONY: fuzz

clean:
	rm -f jobrun jobrun-crashtest vendor/*.o $(UNIT_BIN) t/hooksink t/inject.so .flags

.PHONY: all units check crashtest demo bench lint-man clean FORCE
