#!/usr/bin/env python3
"""A virtual YubiKey (PIV) in a private PC/SC stack, for tests without hardware.

    vpiv.py pcscd DIR [--reader-name NAME]
        Starts a private pcscd with one vsmartcard vpcd reader of two slots, "Yubico Virtual
        YubiKey 00 00" and "... 00 01" (ykcs11 only lists readers whose name starts with
        "Yubico"), so up to two cards. (A second vpcd entry in one pcscd would share the
        driver's per-slot state with the first: vpcd supports one reader per pcscd.)
        pcscd's socket path is hard-coded (/run/pcscd/pcscd.comm), so it runs in its own mount
        namespace with DIR/run bound over /run/pcscd: its socket is DIR/run/pcscd.comm, and a
        client selects it with PCSCLITE_CSOCK_NAME. Several of these run side by side. Where
        no mount namespace can be had (a container without CAP_SYS_ADMIN), pcscd uses the
        machine's socket path and these take turns (a lock held while pcscd runs). Prints
        `ready PCSCLITE_CSOCK_NAME=...` once pcscd listens, writes DIR/readers.json
        ([{"name", "port"}], one per slot), and stops pcscd when it is terminated.
    vpiv.py init STATE --firmware 5.7.1 --serial N [--pin ...] [--management-key HEX ...]
        Writes a factory-fresh card state (default PIN 123456, PUK 12345678, the default
        management key: 3DES before firmware 5.7, AES-192 from 5.7 on).
    vpiv.py card STATE --vpcd 127.0.0.1:PORT [--touch-file F] [--touch-timeout S]
        Inserts the card: connects to the vpcd reader listening on PORT and answers its APDUs
        (piv_card.py). Prints `ready` when the reader has powered the card up. Creating the
        touch file touches the card. Terminating the process removes the card.

The vpcd socket protocol (vsmartcard's vpcd.c): vpcd listens, the card connects; every message
either way is a 2-byte big-endian length and that many bytes. From vpcd, a 1-byte message is a
control byte (0 power off, 1 power on, 2 reset, 4 "send your ATR", which the card answers with
its ATR); anything longer is a command APDU, answered with the response APDU.
"""

import argparse
import ctypes
import fcntl
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import piv_card  # noqa: E402

VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
PORT_LOCK = "/tmp/keyward-vpiv-ports.lock"
SHARED_LOCK = "/tmp/keyward-vpiv-shared-pcscd.lock"
SYSTEM_SOCKET = "/run/pcscd/pcscd.comm"
READER_NAME = "Yubico Virtual YubiKey"
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4


def die(msg):
    print(f"vpiv: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ---- pcscd ------------------------------------------------------------------------------------


def ports_in_use():
    """Local TCP ports in any state (IPv4 and IPv6), from /proc."""
    used = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    used.add(int(line.split()[1].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            pass
    return used


def listening(port):
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                        return True
        except FileNotFoundError:
            pass
    return False


def bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def choose_port():
    """A base port; vpcd listens on it and the next (one port per slot of its reader)."""
    used = ports_in_use()
    while True:
        p = random.randrange(20000, 60000, 2)
        if not {p, p + 1} & used and bindable(p) and bindable(p + 1):
            return p


def set_pdeathsig():
    """In the child before exec: get SIGTERM when the supervisor dies (survives exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def namespace_args():
    ns = ["--mount", "--propagation", "private"]
    return ns if os.geteuid() == 0 else ["--user", "--map-root-user"] + ns


def can_unshare(ns):
    """Whether this machine gives us a private mount namespace (a container without
    CAP_SYS_ADMIN or user namespaces does not). VPIV_SHARED_PCSCD=1 pretends it does not."""
    if os.environ.get("VPIV_SHARED_PCSCD") == "1":
        return False
    try:
        return subprocess.run(["unshare", *ns, "true"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    except FileNotFoundError:
        return False


def run_pcscd(args):
    if not os.path.exists(VPCD_DRIVER):
        die(f"{VPCD_DRIVER} missing: apt-get install vsmartcard-vpcd")
    root = os.path.abspath(args.dir)
    conf_dir = os.path.join(root, "reader.conf.d")
    run_dir = os.path.join(root, "run")
    os.makedirs(conf_dir, exist_ok=True)
    os.makedirs(run_dir, exist_ok=True)
    # --info puts "Card inserted into"/"Card Removed From" in pcscd.log: a test that pulls the card
    # waits for that line before it plugs the card back in (pcscd polls vpcd every 400 ms, and a
    # card back in its reader before the next poll is never seen leaving, so never powered up).
    flags = ["--foreground", "--apdu", "--debug"] if os.environ.get("VPIV_PCSCD_DEBUG") == "1" \
        else ["--foreground", "--info"]
    ns = namespace_args()
    if can_unshare(ns):
        sock = os.path.join(run_dir, "pcscd.comm")
        script = ('mkdir -p /run/pcscd && mount --bind "$0" /run/pcscd && '
                  f'exec pcscd {" ".join(flags)} --config "$1"')
        command = ["unshare", *ns, "sh", "-c", script, run_dir, conf_dir]
    else:
        # No private mount namespace: pcscd's compiled-in socket path is the machine's only one,
        # so the tests take it in turns (this lock is held for as long as this pcscd runs).
        print("vpiv: no private mount namespace here; using the shared pcscd socket "
              f"{SYSTEM_SOCKET}, one pcscd at a time", file=sys.stderr, flush=True)
        shared = open(SHARED_LOCK, "a")
        fcntl.flock(shared, fcntl.LOCK_EX)
        os.makedirs(os.path.dirname(SYSTEM_SOCKET), exist_ok=True)
        sock = SYSTEM_SOCKET
        command = ["pcscd", *flags, "--config", conf_dir]

    lock = open(PORT_LOCK, "a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # held until pcscd listens: no two pcscds pick one port
    base = choose_port()
    ports = [base, base + 1]
    names = [f"{args.reader_name} 00 00", f"{args.reader_name} 00 01"]
    with open(os.path.join(conf_dir, "vpcd"), "w") as f:
        f.write(f'FRIENDLYNAME "{args.reader_name}"\nDEVICENAME /dev/null:{base}\n'
                f"LIBPATH {VPCD_DRIVER}\nCHANNELID {base}\n")
    log = open(os.path.join(root, "pcscd.log"), "ab")
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             preexec_fn=set_pdeathsig)

    def stop(*_):
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + 10
    while not (os.path.exists(sock) and all(listening(p) for p in ports)):
        if child.poll() is not None:
            die(f"pcscd exited with {child.returncode} (another pcscd running?); "
                f"see {root}/pcscd.log")
        if time.monotonic() > deadline:
            child.kill()
            die(f"pcscd did not start within 10 s; see {root}/pcscd.log")
        time.sleep(0.02)
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()
    with open(os.path.join(root, "readers.json"), "w") as f:
        json.dump([{"name": n, "port": p} for n, p in zip(names, ports)], f)
    print(f"ready PCSCLITE_CSOCK_NAME={sock}", flush=True)
    child.wait()
    die(f"pcscd exited with {child.returncode}; see {root}/pcscd.log")


# ---- the card ---------------------------------------------------------------------------------


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        # Debian's vpcd sends a message's length and its bytes in two writes; with Nagle's
        # algorithm on its side, the second waits for our ACK of the first, which Linux would
        # delay by 40 ms. Quick ACKs (to be asked for again before every read) avoid that.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def connect(host, port, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


def serve_reader(s, card, announce):
    """Answers vpcd until it closes the connection."""
    s.settimeout(None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        header = recv_exact(s, 2)
        if header is None:
            return
        (n,) = struct.unpack(">H", header)
        message = recv_exact(s, n) if n else b""
        if message is None:
            return
        if n == 1:
            ctrl = message[0]
            if ctrl == CTRL_ATR:
                s.sendall(struct.pack(">H", len(piv_card.ATR)) + piv_card.ATR)
            elif ctrl in (CTRL_ON, CTRL_RESET):
                card.power_on()
                announce()
            elif ctrl == CTRL_OFF:
                card.power_on()  # power lost: the session state is gone
            continue
        answer = card.transmit(message)
        s.sendall(struct.pack(">H", len(answer)) + answer)


def run_card(args):
    host, _, port = args.vpcd.rpartition(":")
    state = piv_card.StateFile(args.state)
    touch = piv_card.Touch(args.touch_file, args.touch_timeout)
    log = piv_card.log_to_stderr if args.verbose else None
    card = piv_card.PivCard(state, touch, log)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ready = [False]

    def announce():
        if not ready[0]:
            ready[0] = True
            print("ready", flush=True)

    s = connect(host or "127.0.0.1", int(port), args.connect_timeout)
    if s is None:
        die(f"no vpcd reader listens on {args.vpcd}")
    while s is not None:
        with s:
            serve_reader(s, card, announce)
        # vpcd drops the card after a transmission error; it accepts it again on its next poll.
        s = connect(host or "127.0.0.1", int(port), 3)


# ---- init -------------------------------------------------------------------------------------

MGM_ALGS = {"3des": piv_card.ALG_3DES, "aes128": piv_card.ALG_AES128,
            "aes192": piv_card.ALG_AES192, "aes256": piv_card.ALG_AES256}


def run_init(args):
    firmware = tuple(int(x) for x in args.firmware.split("."))
    if len(firmware) != 3 or firmware[0] not in (4, 5):
        die("--firmware is MAJOR.MINOR.PATCH with major 4 or 5 (what the yubikey crate opens)")
    key = bytes.fromhex(args.management_key) if args.management_key else None
    alg = MGM_ALGS[args.management_key_algorithm] if args.management_key_algorithm else None
    try:
        state = piv_card.new_state(firmware, args.serial, args.pin.encode(), args.puk.encode(),
                                   key, alg, args.pin_retries,
                                   attestation=not args.no_attestation)
    except ValueError as e:
        die(str(e))
    for spec in args.key:
        # a key already in a slot, as if generated there earlier: SLOT:ALG[:PIN:TOUCH]
        slot, name, *policies = spec.split(":")
        alg = {v.lower().replace("-", ""): k for k, v in piv_card.ALG_NAMES.items()}[name]
        pin, touch = (int(policies[0]), int(policies[1])) if policies else (2, 1)
        state["keys"][slot] = {"alg": alg, "origin": 1, "pin_policy": pin, "touch_policy": touch,
                               "private": piv_card.private_to_hex(piv_card.generate_private(alg))}
    piv_card.StateFile.create(args.state, state)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("pcscd", help="a private pcscd with virtual readers")
    a.add_argument("dir")
    a.add_argument("--reader-name", default=READER_NAME,
                   help="the reader's name (ykcs11 ignores readers not named Yubico...)")
    a = sub.add_parser("init", help="write a factory-fresh card state")
    a.add_argument("state")
    a.add_argument("--firmware", default="5.7.1")
    a.add_argument("--serial", type=int, required=True)
    a.add_argument("--pin", default="123456")
    a.add_argument("--puk", default="12345678")
    a.add_argument("--pin-retries", type=int, default=3)
    a.add_argument("--management-key", help="hex; default: the well-known default key")
    a.add_argument("--management-key-algorithm", choices=sorted(MGM_ALGS))
    a.add_argument("--no-attestation", action="store_true",
                   help="no attestation key: ATTEST answers 6D00, as before firmware 4.3")
    a.add_argument("--key", action="append", default=[], metavar="SLOT:ALG[:PIN:TOUCH]",
                   help="a key already in a slot, e.g. 9e:ed25519 or 9d:p256:3:2 (policies as "
                        "PIV numbers: PIN 1 never 2 once 3 always, touch 1 never 2 always 3 cached)")
    a = sub.add_parser("card", help="insert the card into a vpcd reader")
    a.add_argument("state")
    a.add_argument("--vpcd", required=True, help="HOST:PORT of the vpcd reader")
    a.add_argument("--touch-file")
    a.add_argument("--touch-timeout", type=float, default=15.0,
                   help="seconds the card waits for a touch (a YubiKey waits about 15)")
    a.add_argument("--connect-timeout", type=float, default=10.0)
    a.add_argument("--verbose", action="store_true", help="log each APDU's INS and status")
    args = p.parse_args()
    {"pcscd": run_pcscd, "init": run_init, "card": run_card}[args.command](args)


if __name__ == "__main__":
    main()
