#!/usr/bin/env bash
# Installs the real peers and tools the test suite runs against, when they
# are missing: sipp (Debian package sip-tester), openssl (S/MIME signing and
# verification), dnsmasq (DNS zones for routing tests), Prosody and
# slixmpp (XMPP interop), Kamailio with its presence modules (the SIP
# SIMPLE presence server peer), promtool (deploy/prometheus checks), and,
# for the fuzz smoke run, cargo-fuzz. Package
# scripts are never allowed to start system daemons (policy-rc.d). Idempotent; needs
# root (or sudo) only when something is actually missing.
set -euo pipefail

need_pkgs=()
command -v sipp >/dev/null 2>&1 || need_pkgs+=(sip-tester)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
# dnsmasq serves the test zones (SRV/NAPTR/A) on a loopback port per test.
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need_pkgs+=(dnsmasq-base)
# Prosody (XEP-0114 component host) and slixmpp (XMPP test client) for the
# XMPP interop tests; tests/peers/xmpp_client.py runs on Debian's python3.
[ -x /usr/bin/prosody ] || need_pkgs+=(prosody)
/usr/bin/python3 -c 'import slixmpp' >/dev/null 2>&1 || need_pkgs+=(python3-slixmpp)
# Kamailio as the SIP presence server (tests/peers/kamailio/presence.cfg.in):
# the core package ships db_text and its table templates, the presence and
# presence_xml modules come in kamailio-presence-modules. The package's own
# system service is never started (policy-rc.d below).
[ -x /usr/sbin/kamailio ] || need_pkgs+=(kamailio)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/presence_xml.so ] || need_pkgs+=(kamailio-presence-modules)
# promtool (Debian's prometheus package; its service is never started)
# checks deploy/prometheus and runs the alert rules' unit tests.
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
# libssl-dev + pkg-config build the openssl dev-dependency used by tests.
dpkg-query -W -f='${Status}' libssl-dev 2>/dev/null | grep -q "install ok installed" || need_pkgs+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || need_pkgs+=(pkg-config)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "install-peers: installing ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  # Never let package scripts start system daemons.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

if [ "${WITH_FUZZ:-1}" = 1 ] && ! cargo fuzz --version >/dev/null 2>&1; then
  echo "install-peers: installing cargo-fuzz 0.13.2"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi

echo "install-peers: $( { sipp -v 2>&1 || true; } | grep -m1 -io 'sipp v[0-9.]*' || echo 'sipp ?'), $(openssl version), $(dnsmasq --version | head -1), $(/usr/sbin/kamailio -v 2>&1 | head -1), $(promtool --version 2>&1 | head -1)"
