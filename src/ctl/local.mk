# src/ctl: ocpp-edgectl, the command-line client of a running daemon.
sbin_PROGRAMS += ocpp-edgectl
ocpp_edgectl_SOURCES = src/ctl/ctl.c
