#!/usr/bin/env bash
# Builds a patched copy of Kamailio's xmpp module for the installed Debian
# kamailio package and prints the path of the resulting xmpp.so.
#
# Why: the stock xmpp.so of Kamailio 5.6.3 crashes on the first stanza from
# Prosody (NULL dereference of expat's attribute terminator, see
# xmpp-null-atts.patch), so the SIP->XMPP comparison cannot run without it.
#
# The system's module directory is NOT modified: the module is built in
# $CACHE (default bench/.cache, git-ignored) and the bench's kamailio.cfg loads
# it by absolute path. The source is Debian's own source package for the
# installed version, fetched with `apt-get source` through a private sources
# list (the system apt configuration is untouched). Idempotent: reuses a
# module already built for the same package version.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${CACHE:-$HERE/../.cache}"
VER="$(dpkg-query -W -f='${Version}' kamailio)"
OUTDIR="$CACHE/kamailio-xmpp-$VER"
if [ -s "$OUTDIR/xmpp.so" ]; then echo "$OUTDIR/xmpp.so"; exit 0; fi
mkdir -p "$CACHE/apt/lists/partial" "$OUTDIR"
LOG="$CACHE/build-xmpp-$VER.log"
{
  missing=()
  for p in build-essential bison flex libexpat1-dev pkg-config dpkg-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  printf 'deb-src http://deb.debian.org/debian bookworm main\n' > "$CACHE/apt/sources.list"
  APT=(-o Dir::Etc::SourceList="$CACHE/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
       -o Dir::State::Lists="$CACHE/apt/lists" -o APT::Sandbox::User=root)
  SRC="$CACHE/kamailio-src-$VER"
  if [ ! -d "$SRC" ]; then
    apt-get "${APT[@]}" update -qq
    rm -rf "$CACHE/dl"; mkdir -p "$CACHE/dl"
    (cd "$CACHE/dl" && apt-get "${APT[@]}" source -qq --only-source "kamailio=$VER")
    d=$(find "$CACHE/dl" -maxdepth 1 -mindepth 1 -type d -name 'kamailio-*' | head -1)
    mv "$d" "$SRC"; rm -rf "$CACHE/dl"
  fi
  cd "$SRC"
  if ! grep -q 'atts\[i\] != NULL' src/modules/xmpp/xstream.c; then
    patch -p1 --no-backup-if-mismatch < "$HERE/xmpp-null-atts.patch"
  fi
  # core build flags as the package defaults, then just this module
  make -C src cfg >/dev/null 2>&1 || make cfg >/dev/null
  make -C src/modules/xmpp -j2 >/dev/null
  install -m 0644 src/modules/xmpp/xmpp.so "$OUTDIR/xmpp.so"
} > "$LOG" 2>&1 || { echo "build-xmpp-module: failed, see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
echo "$OUTDIR/xmpp.so"
