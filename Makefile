# jobrun — see README.  `make` builds ./jobrun; `make check` sets up a Docker engine and
# the test image if needed (t/setup) and runs the whole suite; SAN=1 builds with ASan+UBSan.
PKGS    = yaml-0.1 sqlite3 ncursesw libarchive
CC     ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ivendor
ifeq ($(SAN),1)
CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
PROVE_J   ?= 2

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

vendor/%.o: vendor/%.c vendor/%.h .flags
	$(CC) $(CFLAGS) -c -o $@ $<

t/unit/%: t/unit/%.c $(VENDOR_OBJ) .flags
	$(CC) $(CFLAGS) -o $@ $< $(VENDOR_OBJ) $(LDFLAGS)

units: $(UNIT_BIN)

# The one test command (README, .ci/run): installs what is missing, then runs everything.
check:
	sh t/setup
	$(MAKE) jobrun units
	prove -j$(PROVE_J) $(UNIT_BIN) t/*.t

demo:
	sh t/setup
	$(MAKE) jobrun
	sh t/demo

bench: jobrun
	sh t/bench/run

lint-man:
	mandoc -T lint -W warning man/jobrun.1 man/jobrun-job.5

clean:
	rm -f jobrun vendor/*.o $(UNIT_BIN) .flags

.PHONY: all units check demo bench lint-man clean FORCE
