#!/usr/bin/env bash
# make base-image: a Debian 12 (bookworm) root filesystem made here with debootstrap, as a tar for
# `podman import`: the base image of Dockerfile.build, since no image registry is reachable from this machine.
#
# Made once and cached: $BASE_IMAGE_CACHE (default /var/cache/shim) holds debian-12-minbase-YYYYMM.tar, so
# every later run on the same machine in the same month (CI's fresh clones included) reuses it, and a new month
# takes Debian's updates. The mirror is the one this machine's apt uses. Prints the tar's path on stdout.
#
# Cost: debootstrap --variant=minbase, about 2-4 minutes and ~120 MB on a 2-core machine, once per month.
set -euo pipefail

CACHE=${BASE_IMAGE_CACHE:-/var/cache/shim}
SUITE=bookworm
OUT=$CACHE/debian-12-minbase-$(date -u +%Y%m).tar

if [ -s "$OUT" ]; then
	echo "$OUT"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "base-image: debootstrap needs root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "base-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 2; }

# The first Debian mirror apt is configured with (deb822 .sources or one-line sources.list).
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
	awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
if [ -z "$mirror" ]; then
	mirror=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }' | head -n1)
fi
mirror=${mirror:-http://deb.debian.org/debian}

mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/.base-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "base-image: debootstrap --variant=minbase $SUITE from $mirror (once; cached as $OUT)" >&2
debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	{ tail -n 20 "$work/debootstrap.log" >&2; echo "base-image: debootstrap failed (log above)" >&2; exit 1; }
# What a container image does not carry: package lists and downloaded .debs (RUN apt-get update fetches them).
rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb
tar --numeric-owner --xattrs -C "$work/rootfs" -cf "$work/base.tar" .
mv "$work/base.tar" "$OUT"
# Older months' tars are stale by construction.
find "$CACHE" -maxdepth 1 -name 'debian-12-minbase-*.tar' ! -path "$OUT" -delete
echo "$OUT"
