# SPDX-License-Identifier: MIT
# dist/dist.mk - make install / make uninstall (PREFIX, DESTDIR), the man pages, the
# systemd unit, and the Debian package.
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   bin/vmkd, share/man/man1, share/doc/vmkd,
#       share/vmkd/windows (kdvm.dll + guest scripts), SYSCONFDIR/vmkd/relay.conf.example,
#       lib/systemd/system/vmkd-relay.service, lib/sysusers.d/vmkd.conf
#   make uninstall  removes exactly those files (never relay.conf itself)
#   make man        renders every page to $(BUILD)/man/*.txt (fails on a groff warning)
#   make deb        $(BUILD)/deb/vmkd_VERSION_ARCH.deb (dist/deb/build-deb.sh, dpkg-deb)

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/vmkd
DATADIR ?= $(PREFIX)/share/vmkd
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# /usr's configuration lives in /etc; any other prefix keeps its own etc/.
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif

MAN_PAGES := $(wildcard docs/man/*.1)
DOC_FILES := README.md LICENSE $(filter-out docs/man/%,$(wildcard docs/*.md))
GUEST_SCRIPTS := $(wildcard guest/windows/setup/*.ps1 guest/windows/setup/*.cmd)
# kdvm.dll when the cross compiler built it; install says so when it did not.
INSTALL_DLL := $(filter $(KDVM_DLL),$(ALL_TARGETS))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(DATADIR)/windows $(DESTDIR)$(SYSCONFDIR)/vmkd $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(VMKD) $(DESTDIR)$(BINDIR)/vmkd
	install -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	$(if $(INSTALL_DLL),install -m 0644 $(INSTALL_DLL) $(DESTDIR)$(DATADIR)/windows/,\
		@echo "install: kdvm.dll was not built (no mingw-w64); share/vmkd/windows has the scripts only")
	$(if $(GUEST_SCRIPTS),install -m 0644 $(GUEST_SCRIPTS) $(DESTDIR)$(DATADIR)/windows/)
	install -m 0644 dist/relay.conf.example $(DESTDIR)$(SYSCONFDIR)/vmkd/relay.conf.example
	@# The unit names the installed binary and configuration (written here, so that it
	@# always matches this PREFIX).
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/systemd/vmkd-relay.service.in >$(DESTDIR)$(UNITDIR)/vmkd-relay.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vmkd-relay.service
	install -m 0644 dist/sysusers.d/vmkd.conf $(DESTDIR)$(SYSUSERSDIR)/vmkd.conf
	@[ -n "$(DESTDIR)" ] || echo "install: for the service: systemd-sysusers; cp" \
		"$(SYSCONFDIR)/vmkd/relay.conf.example $(SYSCONFDIR)/vmkd/relay.conf (edit it);" \
		"systemctl daemon-reload; systemctl enable --now vmkd-relay"

# Exactly what install wrote; directories go only when empty (relay.conf stays).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vmkd
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN_PAGES)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	rm -f $(DESTDIR)$(DATADIR)/windows/kdvm.dll \
		$(addprefix $(DESTDIR)$(DATADIR)/windows/,$(notdir $(GUEST_SCRIPTS)))
	rm -f $(DESTDIR)$(SYSCONFDIR)/vmkd/relay.conf.example
	rm -f $(DESTDIR)$(UNITDIR)/vmkd-relay.service $(DESTDIR)$(SYSUSERSDIR)/vmkd.conf
	rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DATADIR)/windows $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/vmkd 2>/dev/null || true

# Rendered pages; groff's warnings make it fail.
MAN_TXT := $(MAN_PAGES:docs/man/%.1=$(BUILD)/man/%.txt)
$(BUILD)/man/%.txt: docs/man/%.1
	@mkdir -p $(@D)
	@groff -man -ww -z $< 2>$@.err; if [ -s $@.err ]; then cat $@.err; rm -f $@.err; exit 1; fi
	MANWIDTH=80 man -l $< >$@
	@rm -f $@.err

man: $(MAN_TXT)

deb: all
	BUILD=$(BUILD) dist/deb/build-deb.sh $(BUILD)/deb

.PHONY: install uninstall man deb
