# Manual pages.  man/NAME.SECTION.in is the one source of a page and, for
# the programs, of their --help: make fills in the configured directories
# for the installed page, and man/man2help.awk turns the page into the
# header that prints the help (the directories come from paths.h there).
# The headers are distributed, so a build from the tarball needs no awk
# run; they are rewritten whenever their page changes.
man_MANS = man/ocpp-edged.8 man/ocpp-edgectl.8 man/ocpp-edge.conf.5 \
	man/ocpp-edge-sim.1
CLEANFILES += $(man_MANS)
EXTRA_DIST += man/ocpp-edged.8.in man/ocpp-edgectl.8.in \
	man/ocpp-edge.conf.5.in man/ocpp-edge-sim.1.in man/man2help.awk

edge_man_subst = $(MKDIR_P) man && sed \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' \
	-e 's|@docdir[@]|$(docdir)|g' \
	-e 's|@pkgdatadir[@]|$(pkgdatadir)|g' \
	-e 's|@VERSION[@]|$(VERSION)|g'
man/ocpp-edged.8: $(srcdir)/man/ocpp-edged.8.in Makefile
	$(AM_V_GEN)$(edge_man_subst) $(srcdir)/man/ocpp-edged.8.in >$@.tmp && mv $@.tmp $@
man/ocpp-edgectl.8: $(srcdir)/man/ocpp-edgectl.8.in Makefile
	$(AM_V_GEN)$(edge_man_subst) $(srcdir)/man/ocpp-edgectl.8.in >$@.tmp && mv $@.tmp $@
man/ocpp-edge.conf.5: $(srcdir)/man/ocpp-edge.conf.5.in Makefile
	$(AM_V_GEN)$(edge_man_subst) $(srcdir)/man/ocpp-edge.conf.5.in >$@.tmp && mv $@.tmp $@
man/ocpp-edge-sim.1: $(srcdir)/man/ocpp-edge-sim.1.in Makefile
	$(AM_V_GEN)$(edge_man_subst) $(srcdir)/man/ocpp-edge-sim.1.in >$@.tmp && mv $@.tmp $@

# The programs' --help, generated from their pages (in the source tree).
edge_help_headers = $(srcdir)/man/ocpp-edged-help.h \
	$(srcdir)/man/ocpp-edgectl-help.h $(srcdir)/man/ocpp-edge-sim-help.h
BUILT_SOURCES += $(edge_help_headers)
EXTRA_DIST += $(edge_help_headers)
MAINTAINERCLEANFILES = $(edge_help_headers)
edge_man2help = $(AWK) -f $(srcdir)/man/man2help.awk
$(srcdir)/man/ocpp-edged-help.h: $(srcdir)/man/ocpp-edged.8.in $(srcdir)/man/man2help.awk
	$(AM_V_GEN)$(edge_man2help) -v src=man/ocpp-edged.8.in \
	    $(srcdir)/man/ocpp-edged.8.in >$@.tmp && mv $@.tmp $@
$(srcdir)/man/ocpp-edgectl-help.h: $(srcdir)/man/ocpp-edgectl.8.in $(srcdir)/man/man2help.awk
	$(AM_V_GEN)$(edge_man2help) -v src=man/ocpp-edgectl.8.in \
	    $(srcdir)/man/ocpp-edgectl.8.in >$@.tmp && mv $@.tmp $@
$(srcdir)/man/ocpp-edge-sim-help.h: $(srcdir)/man/ocpp-edge-sim.1.in $(srcdir)/man/man2help.awk
	$(AM_V_GEN)$(edge_man2help) -v src=man/ocpp-edge-sim.1.in \
	    $(srcdir)/man/ocpp-edge-sim.1.in >$@.tmp && mv $@.tmp $@
