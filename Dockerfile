# syntax=docker/dockerfile:1
# keyward's images, in stages:
#   builder     Rust toolchain: builds the release binary, its completions and man pages
#   runtime     Debian slim + the binary, a non-root user, no compiler (shared base)
#   demo        runtime + SoftHSM: a software token of its own, for trying keyward out
#   production  runtime, as shipped (the last stage: what `docker build .` makes)
#
#   docker build -t keyward .                     # production
#   docker build --target demo -t keyward:demo .  # demo
#   docker run --rm -v keyward-demo:/var/lib/keyward keyward:demo    # token + recipient
#
# Production: mount the config at /etc/keyward/keyward.toml, the vaults and state under
# /var/lib/keyward, and give the PIN as a file readable by uid 10001 only (a Docker/Kubernetes
# secret), e.g. [token] pin = { file = "/run/secrets/keyward-pin" }. The container needs the
# HSM's PKCS#11 module mounted (or a YubiKey through the host's pcscd socket, /run/pcscd).

# The newest stable 1.x (keyward needs at least 1.89); pin one with --build-arg RUST_VERSION=1.95.
ARG RUST_VERSION=1
ARG DEBIAN=bookworm
# The two base images, replaceable for a build without Docker Hub (scripts/docker-local-bases.sh
# makes both from a Debian mirror and the host's Rust toolchain):
#   --build-arg BUILDER_IMAGE=localhost/keyward-rust:bookworm
#   --build-arg RUNTIME_IMAGE=localhost/keyward-debian:bookworm-slim
ARG BUILDER_IMAGE=rust:${RUST_VERSION}-${DEBIAN}
ARG RUNTIME_IMAGE=debian:${DEBIAN}-slim

FROM ${BUILDER_IMAGE} AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpcsclite-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin keyward \
    && install -D -m 755 target/release/keyward /out/bin/keyward
RUN mkdir -p /out/share/man/man1 /out/share/bash-completion/completions \
        /out/share/zsh/vendor-completions /out/share/fish/vendor_completions.d \
    && /out/bin/keyward man --out-dir /out/share/man/man1 \
    && /out/bin/keyward completions bash > /out/share/bash-completion/completions/keyward \
    && /out/bin/keyward completions zsh > /out/share/zsh/vendor-completions/_keyward \
    && /out/bin/keyward completions fish > /out/share/fish/vendor_completions.d/keyward.fish

FROM ${RUNTIME_IMAGE} AS runtime
# libpcsclite1: the YubiKey backend's PC/SC client (the binary links it).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpcsclite1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 keyward \
    && useradd --system --uid 10001 --gid keyward --home-dir /var/lib/keyward \
        --shell /usr/sbin/nologin keyward \
    && install -d -m 700 -o keyward -g keyward /var/lib/keyward /var/log/keyward \
    && install -d -m 755 /etc/keyward
COPY --from=builder /out/bin/keyward /usr/bin/keyward
COPY --from=builder /out/share/ /usr/share/
WORKDIR /var/lib/keyward
ENTRYPOINT ["/usr/bin/keyward"]
CMD ["serve", "--config", "/etc/keyward/keyward.toml"]

FROM runtime AS demo
RUN apt-get update \
    && apt-get install -y --no-install-recommends softhsm2 \
    && rm -rf /var/lib/apt/lists/*
COPY --chmod=755 scripts/docker-demo.sh /usr/bin/keyward-demo
USER keyward
VOLUME ["/var/lib/keyward"]
ENTRYPOINT ["/usr/bin/keyward-demo"]
CMD []

FROM runtime AS production
USER keyward
VOLUME ["/var/lib/keyward", "/var/log/keyward"]
# keyward.example.toml listens on 8787; in a container listen on 0.0.0.0:8787 and publish it
# only to the bots (-p 127.0.0.1:8787:8787).
EXPOSE 8787
