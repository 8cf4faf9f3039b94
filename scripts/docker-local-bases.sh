#!/usr/bin/env bash
# Makes the Dockerfile's two base images without Docker Hub, for a local verification build:
#   localhost/keyward-debian:bookworm-slim  Debian bookworm minbase, from a Debian mirror
#   localhost/keyward-rust:bookworm         the same + build-essential, pkg-config,
#                                           libpcsclite-dev, this host's Rust toolchain and
#                                           this host's CA bundle (so that cargo reaches
#                                           crates.io where egress TLS is intercepted)
# then, unless --bases-only, builds the demo and production targets with them (podman) and
# runs the demo image once (scripts/docker-demo.sh as its entrypoint, a volume of its own).
#
#   scripts/docker-local-bases.sh [--bases-only] [--mirror URL] [--toolchain DIR]
#
# Needs root, podman, runc and mmdebstrap (apt-get install podman runc mmdebstrap). The toolchain
# defaults to rustup's stable one (~/.rustup/toolchains/stable-*). Work files go to
# $KEYWARD_DOCKER_WORK (default target/docker-local).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mirror=http://deb.debian.org/debian
toolchain=$(ls -d "$HOME"/.rustup/toolchains/stable-* 2>/dev/null | head -n 1 || true)
bases_only=0
while [ "$#" -gt 0 ]; do
  case $1 in
    --bases-only) bases_only=1 ;;
    --mirror) mirror=$2; shift ;;
    --toolchain) toolchain=$2; shift ;;
    *) echo "usage: $0 [--bases-only] [--mirror URL] [--toolchain DIR]" >&2; exit 2 ;;
  esac
  shift
done
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install podman runc mmdebstrap" >&2; exit 1; }
done
# Where measured (a VM with cgroup v1 + an empty cgroup2 mount, and no CAP_SYS_RESOURCE):
# crun refuses the hybrid cgroup layout ("cgroups in hybrid mode not supported"), runc does not;
# podman's default rlimits (nofile 1048576, nproc) are above this process's hard limits and
# cannot be raised, so each container gets limits at or below them.
podman() {
  local nofile
  nofile=$(ulimit -Hn)
  case $1 in
    run|build) local cmd=$1; shift
      command podman --runtime runc "$cmd" --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096 "$@" ;;
    *) command podman "$@" ;;
  esac
}
[ -x "$toolchain/bin/cargo" ] || { echo "no Rust toolchain at '$toolchain' (--toolchain DIR)" >&2; exit 1; }
work=${KEYWARD_DOCKER_WORK:-$repo/target/docker-local}
mkdir -p "$work"

slim=localhost/keyward-debian:bookworm-slim
rust=localhost/keyward-rust:bookworm
if ! podman image exists "$slim"; then
  mmdebstrap --variant=minbase bookworm "$work/debian-slim.tar" "$mirror"
  podman import --change 'CMD ["/bin/bash"]' "$work/debian-slim.tar" "$slim"
fi
if ! podman image exists "$rust"; then
  mmdebstrap --variant=minbase \
    --include=build-essential,ca-certificates,pkg-config,libpcsclite-dev \
    --customize-hook="cp -a '$toolchain' \"\$1/usr/local/rust\" && rm -rf \"\$1/usr/local/rust/share/doc\"" \
    --customize-hook='cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/ca-certificates.crt"' \
    bookworm "$work/rust-bookworm.tar" "$mirror"
  # As the rust image: cargo on PATH, CARGO_HOME at /usr/local/cargo (the Dockerfile's cache).
  podman import \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'CMD ["/bin/bash"]' \
    "$work/rust-bookworm.tar" "$rust"
fi
podman run --rm "$rust" cargo --version
[ "$bases_only" = 1 ] && exit 0

args=(--build-arg "BUILDER_IMAGE=$rust" --build-arg "RUNTIME_IMAGE=$slim")
podman build "${args[@]}" --target demo -t localhost/keyward:demo "$repo"
podman build "${args[@]}" --target production -t localhost/keyward:production "$repo"
podman run --rm localhost/keyward:production --version
volume=keyward-demo-$$
podman volume create "$volume" >/dev/null
trap 'podman volume rm -f "$volume" >/dev/null' EXIT
podman run --rm -v "$volume:/var/lib/keyward" localhost/keyward:demo
podman run --rm -v "$volume:/var/lib/keyward" localhost/keyward:demo doctor --config keyward.toml || true
