#!/bin/sh
# The demo image's entrypoint (Dockerfile, stage "demo"): keyward with a SoftHSM token of its
# own, kept in the state folder ($KEYWARD_STATE, default /var/lib/keyward: mount a volume there).
#
# First start: creates the token (random user and SO PINs; the user PIN in $KEYWARD_STATE/pin,
# mode 0600), a config $KEYWARD_STATE/keyward.toml whose [token] uses it, and the sealing key.
# Every start: prints the recipient to seal API keys to. Then, with arguments, runs
# `keyward ARGS...` (e.g. `doctor --config keyward.toml`, or `serve --config keyward.toml` once
# credentials are sealed and added to the config); without, prints what to do next.
# Not for production: a software token's keys are files in the volume.
set -eu

state=${KEYWARD_STATE:-/var/lib/keyward}
keyward=${KEYWARD_BIN:-keyward}
module=${KEYWARD_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -e "$module" ] || module=$(find /usr/lib -name libsofthsm2.so -print -quit 2>/dev/null || true)
[ -n "$module" ] || { echo "keyward-demo: libsofthsm2.so not found (apt-get install softhsm2)" >&2; exit 1; }
umask 077
export SOFTHSM2_CONF="$state/softhsm2.conf"
cd "$state"

if [ ! -f "$SOFTHSM2_CONF" ]; then
  mkdir -p "$state/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$state" > "$SOFTHSM2_CONF.tmp"
  pin=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  so_pin=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$pin" > "$state/pin"
  SOFTHSM2_CONF="$SOFTHSM2_CONF.tmp" softhsm2-util --init-token --free --label keyward \
    --pin "$pin" --so-pin "$so_pin" >/dev/null
  mv "$SOFTHSM2_CONF.tmp" "$SOFTHSM2_CONF"
  echo "keyward-demo: created SoftHSM token 'keyward' in $state/tokens (user PIN in $state/pin)" >&2
fi
if [ ! -f "$state/keyward.toml" ]; then
  cat > "$state/keyward.toml" <<TOML
# Written by keyward-demo on first start: add [[credential]] and [[client]] entries
# (keyward.example.toml documents them), then run: serve --config keyward.toml
[server]
# Inside the container; publish it to this host's loopback only (-p 127.0.0.1:8787:8787), or
# give [server] tls and drop allow_plaintext_remote.
listen = "0.0.0.0:8787"
allow_plaintext_remote = true

[token]
module = "$module"
uri = "pkcs11:token=keyward;object=keyward-seal"
pin = { file = "$state/pin" }

[audit]
path = "$state/audit.jsonl"
# Checkpoints of the chain head, signed on the token (made below by keygen --audit-key).
checkpoint_key = "keyward-audit"
checkpoint_public_key = "$state/audit-key.pem"
# No syslog in the container: give a socket (e.g. a mounted /dev/log) to ship them off the host.
checkpoint_socket = ""
TOML
fi
if ! recipient=$("$keyward" recipient --config "$state/keyward.toml" 2>/dev/null); then
  recipient=$("$keyward" keygen --config "$state/keyward.toml" --out "$state/recipient.txt")
fi
if [ ! -f "$state/audit-key.pem" ]; then
  "$keyward" keygen --config "$state/keyward.toml" --audit-key --out "$state/audit-key.pem" >&2
fi
echo "keyward-demo: seal API keys to $recipient" >&2

if [ "$#" -eq 0 ]; then
  cat >&2 <<TEXT
keyward-demo: next steps (each a docker run of this image with the same volume):
  printf '%s\n%s\n' API_KEY SECRET | ... seal --recipient $recipient --name binance-main \\
      --exchange binance --out vault/binance-main.kwv
  add the [[credential]] (with the vault_sha256 line seal printed) and a [[client]] to
  keyward.toml, then: ... doctor --config keyward.toml, and ... serve --config keyward.toml
TEXT
  exit 0
fi
exec "$keyward" "$@"
