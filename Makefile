# ufshim — `make` builds build/libufshim.so and build/ufs; `make test`, `make asan`, `make bench`,
# `make demo` explain themselves in README.md.
CC      ?= cc
CFLAGS  ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Wno-format-truncation -Wno-nonnull-compare -fno-delete-null-pointer-checks -fPIC -fvisibility=hidden -D_GNU_SOURCE -pthread
LDLIBS  = -lcurl -lcrypto -lexpat -ldl -pthread
BUILD   ?= build

CORE_SRC = common/log.c common/counters.c common/workpool.c \
           backends/registry.c backends/http.c backends/sigv4.c backends/s3_xml.c backends/aws_config.c backends/s3.c \
           cache/store.c cache/lock.c cache/index.c cache/wholefile.c cache/blockfile.c cache/meta.c \
           cache/overlay.c cache/journal.c \
           fs/path.c fs/mount.c fs/settings.c fs/mount_index.c fs/prefetch.c fs/fs.c fs/dirstream.c \
           fs/upload.c fs/write.c fs/namespace.c
SHIM_SRC = $(wildcard shim/*.c)
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/%.o)
SHIM_OBJ = $(SHIM_SRC:%.c=$(BUILD)/%.o)
TEST_BIN = $(BUILD)/tests/unit $(BUILD)/tests/sigv4_cli $(BUILD)/tests/libc_walk

all: $(BUILD)/libufshim.so $(BUILD)/ufs

$(BUILD)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libufshim.so: $(CORE_OBJ) $(SHIM_OBJ)
	@echo "  LD  $@"
	@$(CC) $(ALL_CFLAGS) -shared -Wl,-z,defs -Wl,-soname,libufshim.so -o $@ $^ $(LDLIBS)

$(BUILD)/libufscore.a: $(CORE_OBJ)
	@ar rcs $@ $^

$(BUILD)/ufs: $(BUILD)/tools/ufs.o $(BUILD)/tools/ufs_load.o $(BUILD)/libufscore.a
	@echo "  LD  $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# a plain libc program (no project code, no sanitizer): what the shim is tested against
$(BUILD)/tests/libc_walk: tests/libc_walk.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Wno-deprecated-declarations -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libufscore.a
	@echo "  LD  $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

test: all $(TEST_BIN)
	tests/run-all

# AddressSanitizer cannot be preloaded into the uninstrumented programs the tests run (with
# Debian's libcurl/p11-kit the ASan runtime deadlocks at their exit), so: the unit tests and the
# `ufs` CLI (backends, cache, fs) run under ASan+UBSan; the preloaded shim runs under UBSan.
asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  build-asan/ufs build-asan/tests/unit build-asan/tests/sigv4_cli build-asan/tests/libc_walk
	$(MAKE) BUILD=build-ubsan CFLAGS="-O1 -g -fsanitize=undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  build-ubsan/libufshim.so
	UFSHIM_BUILD=build-asan UFSHIM_PRELOAD="$$(gcc -print-file-name=libubsan.so):$$PWD/build-ubsan/libufshim.so" \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 tests/run-all

bench: all
	tools/bench.py

demo: all
	tools/demo

clean:
	rm -rf build build-asan build-ubsan

.PHONY: all test asan bench demo clean
.SECONDARY:
