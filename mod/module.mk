# mod/module.mk -- builds the FreeSWITCH module and its stand-in test.
# Included by the top Makefile (paths are relative to the repository root);
# also usable alone:  make -f mod/module.mk standin-test
#
#   module        build/mod_nwayacd.so against FreeSWITCH's headers (skipped,
#                 with a message, when none are found)
#   standin       build/standin/{mod_nwayacd.so,host}: the same shim compiled
#                 against mod/test/standin/switch.h, and a host that drives it
#   standin-test  build and run the stand-in host
#   install       install the module (new inode) and the config if absent

NWAY_BUILD  ?= build
GO          ?= go
CC          ?= cc
FS_PREFIX   ?= /usr/local/freeswitch
NWAY_PKGCFG := PKG_CONFIG_PATH=$(FS_PREFIX)/lib/pkgconfig:$(PKG_CONFIG_PATH) pkg-config
FS_CFLAGS   ?= $(shell $(NWAY_PKGCFG) --cflags freeswitch 2>/dev/null)
ifeq ($(strip $(FS_CFLAGS)),)
ifneq ($(wildcard $(FS_PREFIX)/include/freeswitch/switch.h),)
FS_CFLAGS   := -I$(FS_PREFIX)/include/freeswitch
endif
endif
FS_MOD_DIR  ?= $(or $(shell $(NWAY_PKGCFG) --variable=modulesdir freeswitch 2>/dev/null),$(FS_PREFIX)/mod)
FS_CONF_DIR ?= $(or $(shell $(NWAY_PKGCFG) --variable=confdir freeswitch 2>/dev/null),$(FS_PREFIX)/conf)

NWAY_ARCHIVE := $(NWAY_BUILD)/libnwayacd.a
NWAY_CFLAGS  := -O2 -g -fPIC -Wall -Wno-unused-function -Iinclude
# -Bsymbolic/--exclude-libs keep Go's runtime symbols private; -z nodelete keeps
# the Go runtime mapped across unload (see shared/ARCHITECTURE.md).
NWAY_LDFLAGS := -shared -Wl,-Bsymbolic -Wl,-z,nodelete -Wl,--exclude-libs,ALL -lpthread

.PHONY: module standin standin-test install nwayacd-archive

# go build decides itself whether anything changed.
nwayacd-archive:
	@mkdir -p $(NWAY_BUILD)
	CGO_ENABLED=1 $(GO) build -buildmode=c-archive -o $(NWAY_ARCHIVE) ./go/cmd/mod_nwayacd

module: nwayacd-archive
ifeq ($(strip $(FS_CFLAGS)),)
	@echo "mod_nwayacd: no FreeSWITCH headers (pkg-config freeswitch, $(FS_PREFIX)/include/freeswitch): not building build/mod_nwayacd.so"
else
	$(CC) $(NWAY_CFLAGS) $(FS_CFLAGS) mod/mod_nwayacd.c $(NWAY_ARCHIVE) -o $(NWAY_BUILD)/mod_nwayacd.so $(NWAY_LDFLAGS)
endif

standin: nwayacd-archive
	@mkdir -p $(NWAY_BUILD)/standin
	$(CC) $(NWAY_CFLAGS) -Werror -Imod/test/standin mod/mod_nwayacd.c $(NWAY_ARCHIVE) -o $(NWAY_BUILD)/standin/mod_nwayacd.so $(NWAY_LDFLAGS)
	$(CC) -O2 -g -Wall -Werror -Imod/test/standin -Iinclude -rdynamic mod/test/standin/host.c -o $(NWAY_BUILD)/standin/host -ldl -lpthread

standin-test: standin
	$(NWAY_BUILD)/standin/host $(NWAY_BUILD)/standin/mod_nwayacd.so conf/autoload_configs/nwayacd.conf.xml
	NWAYACD_GO_THREADS=realtime $(NWAY_BUILD)/standin/host $(NWAY_BUILD)/standin/mod_nwayacd.so conf/autoload_configs/nwayacd.conf.xml

# install(1) writes a new inode: cp over a loaded module crashes FreeSWITCH.
install: module
	@test -f $(NWAY_BUILD)/mod_nwayacd.so || { echo "mod_nwayacd: build/mod_nwayacd.so was not built (no FreeSWITCH headers)"; exit 1; }
	install -d $(DESTDIR)$(FS_MOD_DIR) $(DESTDIR)$(FS_CONF_DIR)/autoload_configs
	install -m 0755 $(NWAY_BUILD)/mod_nwayacd.so $(DESTDIR)$(FS_MOD_DIR)/mod_nwayacd.so
	test -e $(DESTDIR)$(FS_CONF_DIR)/autoload_configs/nwayacd.conf.xml || \
		install -m 0644 conf/autoload_configs/nwayacd.conf.xml $(DESTDIR)$(FS_CONF_DIR)/autoload_configs/nwayacd.conf.xml
