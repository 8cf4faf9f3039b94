"""A virtual PIV card that answers APDUs the way a YubiKey 5's PIV applet does (test support).

This is the card only: bytes in, bytes out, plus the card's state file. `vpiv.py` connects it to
a PC/SC reader (vsmartcard's vpcd). It implements, honestly, the subset of PIV and of Yubico's
extensions that the `yubikey` crate and ykcs11 use:

* SELECT (the PIV AID; anything else is 6A82), GET VERSION, GET SERIAL, GET METADATA;
* VERIFY with a real, persisted retry counter (63Cx after a wrong PIN, blocked at 0 → 6983),
  CHANGE REFERENCE and RESET RETRY for PIN and PUK;
* management-key mutual authentication (GENERAL AUTHENTICATE on key 9B) with 3DES (the default
  before firmware 5.7) or AES-128/192/256 (AES-192 is the default from 5.7 on), SET MANAGEMENT KEY;
* GENERATE ASYMMETRIC: P-256 and P-384 on every firmware, Ed25519 and X25519 from 5.7 on (no RSA:
  this card answers 6A80 for RSA, as a card without the algorithm would);
* GENERAL AUTHENTICATE with a slot key: ECDH (tag 85) and signatures (tag 81), with the slot's PIN
  policy (never / once / always: "always" needs a VERIFY right before each operation) and touch
  policy (never / always / cached for 15 s) enforced; a touch that does not come within the
  timeout is refused with 6982, exactly the status of "PIN not verified";
* GET DATA / PUT DATA for data objects (certificates, CHUID, ...), GET RESPONSE for answers longer
  than 256 bytes, command chaining (CLA 0x10) for long commands, RESET when PIN and PUK are
  both blocked, SET PIN RETRIES.

* ATTEST for generated keys: an X.509 certificate of the slot's public key with Yubico's
  firmware, serial and policy extensions, signed by the card's attestation key (a key made by
  `vpiv.py init`, not Yubico's). A card made with `--no-attestation` answers 6D00, as firmware
  before 4.3 does; ykcs11 then knows the key from GET METADATA instead.

Not emulated: key import, RSA, the OTP/FIDO/management applets.

A touch is given by creating the touch file; the card consumes it (deletes it) when it uses it,
so each touch counts once, like a finger on the contact.
"""

import datetime
import json
import os
import secrets
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # cryptography >= 43 keeps 3DES among the "decrepit" algorithms
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography (Debian 12's 38)
    TripleDES = algorithms.TripleDES

# ---- constants --------------------------------------------------------------------------------

PIV_AID = bytes.fromhex("a000000308")
PIV_FULL_AID = bytes.fromhex("a00000030800001000010000")
# The Application Property Template a YubiKey 5 answers SELECT with.
SELECT_ANSWER = bytes.fromhex("61114f0600001000010079074f05a000000308")
# YubiKey 5 NFC's ATR ("YubiKey@" in the historical bytes).
ATR = bytes.fromhex("3bfd1300008131fe158073c021c057597562694b657940")

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_SECURITY = 0x6982  # security status not satisfied: no PIN, no management key, no touch
SW_BLOCKED = 0x6983
SW_CONDITIONS = 0x6985
SW_WRONG_DATA = 0x6A80
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_REF_NOT_FOUND = 0x6A88
SW_WRONG_SLOT = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00

ALG_3DES, ALG_AES128, ALG_AES192, ALG_AES256 = 0x03, 0x08, 0x0A, 0x0C
MGM_KEY_LEN = {ALG_3DES: 24, ALG_AES128: 16, ALG_AES192: 24, ALG_AES256: 32}
ALG_P256, ALG_P384, ALG_ED25519, ALG_X25519 = 0x11, 0x14, 0xE0, 0xE1
ALG_RSA = {0x06, 0x07, 0x05, 0x16}
ALG_NAMES = {ALG_P256: "P-256", ALG_P384: "P-384", ALG_ED25519: "Ed25519", ALG_X25519: "X25519"}
PIN_NEVER, PIN_ONCE, PIN_ALWAYS = 1, 2, 3
TOUCH_NEVER, TOUCH_ALWAYS, TOUCH_CACHED = 1, 2, 3
TOUCH_CACHE_SECONDS = 15.0

KEY_MANAGEMENT = 0x9B
KEY_PIN, KEY_PUK = 0x80, 0x81
KEY_SLOTS = [0x9A, 0x9C, 0x9D, 0x9E] + list(range(0x82, 0x96))
# PIN policy a YubiKey gives a slot when GENERATE does not say (touch defaults to never).
DEFAULT_PIN_POLICY = {0x9A: PIN_ONCE, 0x9C: PIN_ALWAYS, 0x9D: PIN_ONCE, 0x9E: PIN_NEVER}

DEFAULT_MGM_KEY = bytes.fromhex("010203040506070801020304050607080102030405060708")
DEFAULT_PIN = b"123456"
DEFAULT_PUK = b"12345678"
PRINTED_OBJECT = "5fc109"  # readable only after VERIFY
# The discovery object, answered as is (not wrapped in tag 53).
DISCOVERY = bytes.fromhex("7e124f0ba0000003080000100001005f2f024000")


class CardError(Exception):
    """An APDU the card refuses, with the status word it answers."""

    def __init__(self, sw, why=""):
        super().__init__(why or f"{sw:04X}")
        self.sw = sw


# ---- TLV --------------------------------------------------------------------------------------


def tlv(tag: int, value: bytes) -> bytes:
    """BER-TLV with a one-byte or (0x7F49) two-byte tag and a definite length."""
    tag_bytes = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return tag_bytes + length + value


def parse_tlvs(data: bytes):
    """One level of BER-TLV with one-byte tags (what PIV commands carry) → [(tag, value)]."""
    out, i = [], 0
    while i < len(data):
        if i + 2 > len(data):
            raise CardError(SW_WRONG_DATA, "truncated TLV")
        tag, first = data[i], data[i + 1]
        i += 2
        if first < 0x80:
            n = first
        elif first == 0x81 and i < len(data):
            n, i = data[i], i + 1
        elif first == 0x82 and i + 1 < len(data):
            n, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        else:
            raise CardError(SW_WRONG_DATA, "bad TLV length")
        if i + n > len(data):
            raise CardError(SW_WRONG_DATA, "TLV longer than the data")
        out.append((tag, data[i:i + n]))
        i += n
    return out


def only(tlvs, tag):
    """The value of the one TLV with this tag, or None."""
    values = [v for t, v in tlvs if t == tag]
    if len(values) > 1:
        raise CardError(SW_WRONG_DATA, f"tag {tag:02X} twice")
    return values[0] if values else None


# ---- the persisted state ----------------------------------------------------------------------


def new_state(firmware, serial, pin=DEFAULT_PIN, puk=DEFAULT_PUK, mgm_key=None, mgm_alg=None,
              pin_retries=3, puk_retries=3, attestation=True):
    """A factory-fresh card. The management key defaults as on a real YubiKey: 3DES before
    firmware 5.7, AES-192 from 5.7 on, both with the well-known default key bytes."""
    if mgm_alg is None:
        mgm_alg = ALG_AES192 if tuple(firmware) >= (5, 7, 0) else ALG_3DES
    key = DEFAULT_MGM_KEY if mgm_key is None else mgm_key
    if len(key) != MGM_KEY_LEN[mgm_alg]:
        raise ValueError(f"a management key for algorithm {mgm_alg:#04x} is "
                         f"{MGM_KEY_LEN[mgm_alg]} bytes, not {len(key)}")
    return {
        "firmware": list(firmware),
        "serial": serial,
        "pin": pin.hex(), "pin_tries": pin_retries, "pin_left": pin_retries,
        "puk": puk.hex(), "puk_tries": puk_retries, "puk_left": puk_retries,
        "mgm": {"alg": mgm_alg, "key": key.hex(), "touch": False},
        "keys": {},
        "objects": {},
        # the attestation key (slot F9), P-256
        "attestation": private_to_hex(ec.generate_private_key(ec.SECP256R1()))
        if attestation else None,
    }


class StateFile:
    """The card's state in a JSON file (mode 0600), rewritten atomically after every change, so
    the PIN retry counter and the keys survive a restart of the emulator like a card's EEPROM."""

    def __init__(self, path):
        self.path = path
        with open(path) as f:
            self.data = json.load(f)

    @staticmethod
    def create(path, state):
        StateFile._write(path, state)

    def save(self):
        self._write(self.path, self.data)

    @staticmethod
    def _write(path, state):
        tmp = f"{path}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


# ---- keys -------------------------------------------------------------------------------------


def generate_private(alg):
    if alg == ALG_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if alg == ALG_P384:
        return ec.generate_private_key(ec.SECP384R1())
    if alg == ALG_ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if alg == ALG_X25519:
        return x25519.X25519PrivateKey.generate()
    raise CardError(SW_WRONG_DATA, f"algorithm {alg:#04x} not supported by this card")


def private_to_hex(key):
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).hex()


def private_from_hex(text):
    return serialization.load_der_private_key(bytes.fromhex(text), password=None)


def public_point(key):
    """The public key as PIV encodes it inside tag 86: an uncompressed SEC1 point, or the raw 32
    bytes of an Edwards/Montgomery key."""
    public = key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        return public.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# ---- the card ---------------------------------------------------------------------------------


class Touch:
    """The touch sensor: a file that the test creates to touch, and the card deletes when it
    uses the touch."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.last = None  # when the last touch was used (for the cached policy)

    def wait(self):
        deadline = time.monotonic() + self.timeout
        while True:
            if self.path and os.path.exists(self.path):
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    continue
                self.last = time.monotonic()
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def cached(self):
        return self.last is not None and time.monotonic() - self.last < TOUCH_CACHE_SECONDS


class PivCard:
    def __init__(self, state: StateFile, touch: Touch, log=None):
        self.state = state
        self.touch = touch
        self.log = log or (lambda msg: None)
        self.power_on()

    # -- power ---------------------------------------------------------------------------------

    def power_on(self):
        """Power-up and reset: everything but the persisted state is forgotten."""
        self.selected = False
        self.pin_verified = False
        self.pin_fresh = False  # a VERIFY since the last private-key operation (PIN policy always)
        self.mgm_authenticated = False
        self.mgm_pending = None  # (kind, value) between the two steps of management-key auth
        self.chain = None  # (ins, p1, p2, data so far) while a chained command arrives
        self.pending = b""  # answer bytes not yet fetched with GET RESPONSE

    # -- APDU framing --------------------------------------------------------------------------

    def transmit(self, apdu: bytes) -> bytes:
        try:
            cla, ins, p1, p2, data = self.parse(apdu)
            if cla & ~0x10:
                raise CardError(SW_CLA_NOT_SUPPORTED, f"CLA {cla:02X}")
            if ins == 0xC0:
                return self.get_response()
            self.pending = b""
            if cla & 0x10:
                if self.chain and self.chain[:3] != (ins, p1, p2):
                    self.chain = None
                    raise CardError(SW_CONDITIONS, "chained command changed")
                prior = self.chain[3] if self.chain else b""
                self.chain = (ins, p1, p2, prior + data)
                return SW_OK.to_bytes(2, "big")
            if self.chain:
                if self.chain[:3] != (ins, p1, p2):
                    self.chain = None
                    raise CardError(SW_CONDITIONS, "chained command changed")
                data = self.chain[3] + data
                self.chain = None
            answer = self.dispatch(ins, p1, p2, data)
            self.log(f"INS {ins:02X} P1 {p1:02X} P2 {p2:02X}: 9000 ({len(answer)} bytes)")
            return self.answer(answer)
        except CardError as e:
            self.log(f"INS {apdu[1] if len(apdu) > 1 else 0:02X}: {e.sw:04X} {e}")
            return e.sw.to_bytes(2, "big")

    @staticmethod
    def parse(apdu):
        if len(apdu) < 4:
            raise CardError(SW_WRONG_LENGTH, "APDU shorter than its header")
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if len(body) <= 1:  # case 1, or case 2 (Le only)
            return cla, ins, p1, p2, b""
        if body[0] == 0 and len(body) >= 3:  # extended Lc
            n = int.from_bytes(body[1:3], "big")
            data = body[3:3 + n]
            rest = body[3 + n:]
            if len(data) != n or len(rest) not in (0, 2):
                raise CardError(SW_WRONG_LENGTH, "extended APDU length mismatch")
            return cla, ins, p1, p2, data
        n = body[0]
        data = body[1:1 + n]
        if len(data) != n or len(body) - 1 - n not in (0, 1):
            raise CardError(SW_WRONG_LENGTH, "APDU length mismatch")
        return cla, ins, p1, p2, data

    def answer(self, data):
        if len(data) <= 256:
            return data + SW_OK.to_bytes(2, "big")
        self.pending = data[256:]
        return data[:256] + bytes([0x61, min(len(self.pending), 0x100) & 0xFF])

    def get_response(self):
        if not self.pending:
            raise CardError(SW_CONDITIONS, "no answer pending")
        data, self.pending = self.pending, b""
        return self.answer(data)

    # -- dispatch ------------------------------------------------------------------------------

    def dispatch(self, ins, p1, p2, data):
        if ins == 0xA4:
            return self.select(p1, data)
        if not self.selected:
            raise CardError(SW_INS_NOT_SUPPORTED, "PIV applet not selected")
        handlers = {
            0xFD: lambda: bytes(self.state.data["firmware"]),
            0xF8: lambda: self.state.data["serial"].to_bytes(4, "big"),
            0x20: lambda: self.verify(p1, p2, data),
            0x24: lambda: self.change_reference(p2, data),
            0x2C: lambda: self.reset_retry(p2, data),
            0xF7: lambda: self.metadata(p2),
            0x87: lambda: self.general_authenticate(p1, p2, data),
            0x47: lambda: self.generate(p1, p2, data),
            0xCB: lambda: self.get_data(p1, p2, data),
            0xDB: lambda: self.put_data(p1, p2, data),
            0xFF: lambda: self.set_management_key(p1, p2, data),
            0xFA: lambda: self.set_pin_retries(p1, p2),
            0xFB: lambda: self.reset_applet(),
            0xF9: lambda: self.attest(p1),
        }
        handler = handlers.get(ins)
        if handler is None:
            # IMPORT KEY (FE), MOVE KEY (F6) ...: not emulated
            raise CardError(SW_INS_NOT_SUPPORTED, f"INS {ins:02X} not emulated")
        return handler()

    def select(self, p1, aid):
        if p1 != 0x04:
            raise CardError(SW_WRONG_P1P2)
        if len(aid) >= len(PIV_AID) and PIV_FULL_AID.startswith(aid):
            self.selected = True
            self.pin_verified = self.pin_fresh = False
            self.mgm_authenticated = False
            self.mgm_pending = None
            return SELECT_ANSWER
        raise CardError(SW_NOT_FOUND, f"applet {aid.hex()} not on this card")

    # -- PIN and PUK ---------------------------------------------------------------------------

    def check_reference(self, which, given):
        """Compares a PIN or PUK, counting a wrong one down; persists the counter."""
        s = self.state.data
        if s[f"{which}_left"] == 0:
            raise CardError(SW_BLOCKED, f"{which} blocked")
        if secrets.compare_digest(given, bytes.fromhex(s[which])):
            s[f"{which}_left"] = s[f"{which}_tries"]
            self.state.save()
            return
        s[f"{which}_left"] -= 1
        self.state.save()
        raise CardError(0x63C0 | s[f"{which}_left"], f"wrong {which}")

    @staticmethod
    def unpad(block):
        if len(block) != 8:
            raise CardError(SW_WRONG_DATA, "a PIN/PUK block is 8 bytes")
        value = block.rstrip(b"\xff")
        if not 6 <= len(value) <= 8:
            raise CardError(SW_WRONG_DATA, "PIN/PUK must be 6 to 8 bytes")
        return value

    def verify(self, p1, p2, data):
        if p2 != KEY_PIN:
            raise CardError(SW_REF_NOT_FOUND)
        if p1 == 0xFF and not data:  # YubiKey: un-verify
            self.pin_verified = self.pin_fresh = False
            return b""
        if p1 != 0x00:
            raise CardError(SW_WRONG_P1P2)
        s = self.state.data
        if not data:  # status query: never counts as an attempt
            if self.pin_verified:
                return b""
            if s["pin_left"] == 0:
                raise CardError(SW_BLOCKED)
            raise CardError(0x63C0 | s["pin_left"])
        try:
            self.check_reference("pin", self.unpad(data))
        except CardError:
            self.pin_verified = self.pin_fresh = False
            raise
        self.pin_verified = self.pin_fresh = True
        return b""

    def change_reference(self, p2, data):
        which = {KEY_PIN: "pin", KEY_PUK: "puk"}.get(p2)
        if which is None:
            raise CardError(SW_REF_NOT_FOUND)
        if len(data) != 16:
            raise CardError(SW_WRONG_DATA)
        old, new = self.unpad(data[:8]), self.unpad(data[8:])
        self.check_reference(which, old)
        self.state.data[which] = new.hex()
        self.state.save()
        return b""

    def reset_retry(self, p2, data):
        if p2 != KEY_PIN:
            raise CardError(SW_REF_NOT_FOUND)
        if len(data) != 16:
            raise CardError(SW_WRONG_DATA)
        puk, new = self.unpad(data[:8]), self.unpad(data[8:])
        self.check_reference("puk", puk)
        s = self.state.data
        s["pin"] = new.hex()
        s["pin_left"] = s["pin_tries"]
        self.state.save()
        return b""

    def set_pin_retries(self, pin_tries, puk_tries):
        if not (self.mgm_authenticated and self.pin_verified):
            raise CardError(SW_SECURITY)
        if not (1 <= pin_tries <= 255 and 1 <= puk_tries <= 255):
            raise CardError(SW_WRONG_P1P2)
        s = self.state.data
        s.update(pin=DEFAULT_PIN.hex(), puk=DEFAULT_PUK.hex(), pin_tries=pin_tries,
                 pin_left=pin_tries, puk_tries=puk_tries, puk_left=puk_tries)
        self.state.save()
        return b""

    def reset_applet(self):
        s = self.state.data
        if s["pin_left"] or s["puk_left"]:
            raise CardError(SW_CONDITIONS, "RESET needs PIN and PUK blocked")
        fresh = new_state(s["firmware"], s["serial"])
        self.state.data = fresh
        self.state.save()
        self.power_on()
        self.selected = True
        return b""

    # -- metadata ------------------------------------------------------------------------------

    def metadata(self, slot):
        s = self.state.data
        if slot == KEY_MANAGEMENT:
            mgm = s["mgm"]
            default = mgm["alg"] in (ALG_3DES, ALG_AES192) and mgm["key"] == DEFAULT_MGM_KEY.hex()
            return (tlv(0x01, bytes([mgm["alg"]]))
                    + tlv(0x02, bytes([0x00, TOUCH_ALWAYS if mgm["touch"] else TOUCH_NEVER]))
                    + tlv(0x05, bytes([1 if default else 0])))
        if slot in (KEY_PIN, KEY_PUK):
            which = "pin" if slot == KEY_PIN else "puk"
            default = bytes.fromhex(s[which]) == (DEFAULT_PIN if slot == KEY_PIN else DEFAULT_PUK)
            return (tlv(0x01, b"\xff") + tlv(0x05, bytes([1 if default else 0]))
                    + tlv(0x06, bytes([s[f"{which}_tries"], s[f"{which}_left"]])))
        key = s["keys"].get(f"{slot:02x}")
        if key is None:
            if slot in KEY_SLOTS:
                raise CardError(SW_REF_NOT_FOUND, f"slot {slot:02X} is empty")
            raise CardError(SW_WRONG_P1P2, f"no slot {slot:02X}")
        private = private_from_hex(key["private"])
        return (tlv(0x01, bytes([key["alg"]]))
                + tlv(0x02, bytes([key["pin_policy"], key["touch_policy"]]))
                + tlv(0x03, bytes([key["origin"]]))
                + tlv(0x04, tlv(0x86, public_point(private))))

    # -- the management key --------------------------------------------------------------------

    def mgm_cipher(self, alg):
        mgm = self.state.data["mgm"]
        if alg != mgm["alg"]:
            raise CardError(SW_WRONG_DATA, f"management key is algorithm {mgm['alg']:#04x}")
        key = bytes.fromhex(mgm["key"])
        return Cipher(TripleDES(key) if alg == ALG_3DES else algorithms.AES(key), modes.ECB())

    def mgm_block(self, alg):
        return 8 if alg == ALG_3DES else 16

    def mgm_authenticate(self, alg, items):
        cipher = self.mgm_cipher(alg)
        block = self.mgm_block(alg)
        enc = lambda b: cipher.encryptor().update(b)  # noqa: E731
        witness, challenge, response = only(items, 0x80), only(items, 0x81), only(items, 0x82)
        pending, self.mgm_pending = self.mgm_pending, None
        self.mgm_authenticated = False
        if witness == b"" and challenge is None:
            # step 1 of mutual auth: the card's encrypted witness
            value = secrets.token_bytes(block)
            self.mgm_pending = ("witness", value)
            return tlv(0x7C, tlv(0x80, enc(value)))
        if witness and challenge is not None:
            # step 2: the host decrypted our witness and sends its own challenge
            if not pending or pending[0] != "witness" or len(witness) != block \
                    or not secrets.compare_digest(witness, pending[1]):
                raise CardError(SW_SECURITY, "management key authentication failed")
            if len(challenge) != block:
                raise CardError(SW_WRONG_DATA)
            self.require_mgm_touch()
            self.mgm_authenticated = True
            return tlv(0x7C, tlv(0x82, enc(challenge)))
        if challenge == b"" and witness is None:
            # single authentication, step 1: a challenge for the host to encrypt
            value = secrets.token_bytes(block)
            self.mgm_pending = ("challenge", value)
            return tlv(0x7C, tlv(0x81, value))
        if response and witness is None and challenge is None:
            if not pending or pending[0] != "challenge" \
                    or not secrets.compare_digest(response, enc(pending[1])):
                raise CardError(SW_SECURITY, "management key authentication failed")
            self.require_mgm_touch()
            self.mgm_authenticated = True
            return b""
        raise CardError(SW_WRONG_DATA, "unexpected management-key authentication data")

    def require_mgm_touch(self):
        if self.state.data["mgm"]["touch"] and not self.touch.wait():
            raise CardError(SW_SECURITY, "management key needs a touch; none given in time")

    def set_management_key(self, p1, p2, data):
        if p1 != 0xFF or p2 not in (0xFE, 0xFF):
            raise CardError(SW_WRONG_P1P2)
        if not self.mgm_authenticated:
            raise CardError(SW_SECURITY)
        if len(data) < 3 or data[1] != KEY_MANAGEMENT or data[0] not in MGM_KEY_LEN \
                or data[2] != MGM_KEY_LEN[data[0]] or len(data) != 3 + data[2]:
            raise CardError(SW_WRONG_DATA)
        self.state.data["mgm"] = {"alg": data[0], "key": data[3:].hex(), "touch": p2 == 0xFE}
        self.state.save()
        return b""

    # -- keys in slots -------------------------------------------------------------------------

    def supports(self, alg):
        if alg in (ALG_P256, ALG_P384):
            return True
        if alg in (ALG_ED25519, ALG_X25519):
            return tuple(self.state.data["firmware"]) >= (5, 7, 0)
        return False

    def generate(self, p1, slot, data):
        if p1 != 0x00:
            raise CardError(SW_WRONG_P1P2)
        if not self.mgm_authenticated:
            raise CardError(SW_SECURITY, "GENERATE needs the management key")
        if slot not in KEY_SLOTS:
            raise CardError(SW_WRONG_SLOT, f"no key slot {slot:02X}")
        outer = parse_tlvs(data)
        template = only(outer, 0xAC)
        if template is None:
            raise CardError(SW_WRONG_DATA, "no control template AC")
        items = parse_tlvs(template)
        alg = only(items, 0x80)
        if not alg or len(alg) != 1:
            raise CardError(SW_WRONG_DATA, "no algorithm")
        alg = alg[0]
        if alg in ALG_RSA:
            raise CardError(SW_WRONG_DATA, "this virtual card does not emulate RSA")
        if not self.supports(alg):
            raise CardError(SW_WRONG_DATA, f"algorithm {alg:#04x} not on this firmware")
        pin_policy = self.policy(items, 0xAA, PIN_ALWAYS, DEFAULT_PIN_POLICY.get(slot, PIN_ONCE))
        touch_policy = self.policy(items, 0xAB, TOUCH_CACHED, TOUCH_NEVER)
        private = generate_private(alg)
        self.state.data["keys"][f"{slot:02x}"] = {
            "alg": alg, "private": private_to_hex(private), "pin_policy": pin_policy,
            "touch_policy": touch_policy, "origin": 1,
        }
        self.state.save()
        self.log(f"generated {ALG_NAMES[alg]} in slot {slot:02X} "
                 f"(PIN policy {pin_policy}, touch policy {touch_policy})")
        return tlv(0x7F49, tlv(0x86, public_point(private)))

    @staticmethod
    def policy(items, tag, highest, default):
        value = only(items, tag)
        if value is None:
            return default
        if len(value) != 1 or value[0] > highest:
            raise CardError(SW_WRONG_DATA, f"bad policy {value.hex()}")
        return value[0] or default

    def general_authenticate(self, alg, slot, data):
        outer = parse_tlvs(data)
        template = only(outer, 0x7C)
        if template is None or len(outer) != 1:
            raise CardError(SW_WRONG_DATA, "no dynamic authentication template 7C")
        items = parse_tlvs(template)
        if slot == KEY_MANAGEMENT:
            return self.mgm_authenticate(alg, items)
        key = self.state.data["keys"].get(f"{slot:02x}")
        if key is None:
            raise CardError(SW_NOT_FOUND, f"slot {slot:02X} is empty")
        if alg != key["alg"]:
            raise CardError(SW_WRONG_DATA, f"slot {slot:02X} holds algorithm {key['alg']:#04x}")
        if only(items, 0x82) != b"":
            raise CardError(SW_WRONG_DATA, "no response placeholder 82")
        peer, message = only(items, 0x85), only(items, 0x81)
        if (peer is None) == (message is None):
            raise CardError(SW_WRONG_DATA, "need exactly one of 81 (sign) and 85 (ECDH)")
        self.require_pin(key["pin_policy"])
        self.require_touch(key["touch_policy"])
        private = private_from_hex(key["private"])
        result = self.exchange(alg, private, peer) if peer is not None \
            else self.sign(alg, private, message)
        return tlv(0x7C, tlv(0x82, result))

    def require_pin(self, policy):
        if policy == PIN_NEVER:
            return
        ok = self.pin_fresh if policy == PIN_ALWAYS else self.pin_verified
        # PIN policy always: the verification is used up by this operation, whatever its outcome
        self.pin_fresh = False
        if not ok:
            raise CardError(SW_SECURITY, "PIN not verified")

    def require_touch(self, policy):
        if policy == TOUCH_NEVER:
            return
        if policy == TOUCH_CACHED and self.touch.cached():
            return
        self.log("waiting for a touch")
        if not self.touch.wait():
            raise CardError(SW_SECURITY, "no touch within the timeout")

    @staticmethod
    def exchange(alg, private, peer):
        try:
            if alg == ALG_P256 and len(peer) == 65:
                point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer)
            elif alg == ALG_P384 and len(peer) == 97:
                point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP384R1(), peer)
            elif alg == ALG_X25519 and len(peer) == 32:
                return private.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
            else:
                raise CardError(SW_WRONG_DATA, "peer key of the wrong form for ECDH")
            return private.exchange(ec.ECDH(), point)
        except ValueError:
            raise CardError(SW_WRONG_DATA, "peer point not on the curve")

    @staticmethod
    def sign(alg, private, message):
        if alg == ALG_ED25519:
            return private.sign(message)
        if alg in (ALG_P256, ALG_P384):
            size, hash_alg = (32, hashes.SHA256()) if alg == ALG_P256 else (48, hashes.SHA384())
            if len(message) > size:
                raise CardError(SW_WRONG_DATA, "digest longer than the curve")
            digest = message.rjust(size, b"\0")
            return private.sign(digest, ec.ECDSA(Prehashed(hash_alg)))
        raise CardError(SW_WRONG_DATA, f"algorithm {alg:#04x} cannot sign")

    def attest(self, slot):
        s = self.state.data
        if not s.get("attestation"):
            raise CardError(SW_INS_NOT_SUPPORTED, "this card has no attestation key")
        key = s["keys"].get(f"{slot:02x}")
        if key is None:
            raise CardError(SW_REF_NOT_FOUND, f"slot {slot:02X} is empty")
        if key["origin"] != 1:
            raise CardError(SW_WRONG_DATA, "only generated keys can be attested")
        signer = private_from_hex(s["attestation"])
        public = private_from_hex(key["private"]).public_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        yubico = "1.3.6.1.4.1.41482.3."
        name = lambda cn: x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, cn)])  # noqa
        extension = lambda arc, value: x509.UnrecognizedExtension(  # noqa: E731
            x509.ObjectIdentifier(yubico + arc), value)
        serial_der = tlv(0x02, s["serial"].to_bytes((s["serial"].bit_length() + 8) // 8, "big"))
        cert = (x509.CertificateBuilder()
                .subject_name(name(f"YubiKey PIV Attestation {slot:02x}"))
                .issuer_name(name("Yubico PIV Attestation (virtual card)"))
                .public_key(public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(extension("3", bytes(s["firmware"])), critical=False)
                .add_extension(extension("7", serial_der), critical=False)
                .add_extension(extension("8", bytes([key["pin_policy"], key["touch_policy"]])),
                               critical=False)
                .sign(signer, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.DER)

    # -- data objects --------------------------------------------------------------------------

    def object_tag(self, p1, p2, items):
        if (p1, p2) != (0x3F, 0xFF):
            raise CardError(SW_WRONG_P1P2)
        tag = only(items, 0x5C)
        if not tag or len(tag) > 3:
            raise CardError(SW_WRONG_DATA, "no object tag 5C")
        return tag.hex()

    def get_data(self, p1, p2, data):
        tag = self.object_tag(p1, p2, parse_tlvs(data))
        if tag == "7e":
            return DISCOVERY
        if tag == PRINTED_OBJECT and not self.pin_verified:
            raise CardError(SW_SECURITY, "printed information needs the PIN")
        value = self.state.data["objects"].get(tag)
        if value is None:
            raise CardError(SW_NOT_FOUND, f"no object {tag}")
        return tlv(0x53, bytes.fromhex(value))

    def put_data(self, p1, p2, data):
        items = parse_tlvs(data)
        tag = self.object_tag(p1, p2, items)
        if not self.mgm_authenticated:
            raise CardError(SW_SECURITY, "PUT DATA needs the management key")
        value = only(items, 0x53)
        if value is None:
            raise CardError(SW_WRONG_DATA, "no object value 53")
        objects = self.state.data["objects"]
        if value:
            objects[tag] = value.hex()
        else:
            objects.pop(tag, None)
        self.state.save()
        return b""


def log_to_stderr(msg):
    print(f"vpiv: {time.monotonic():.4f} {msg}", file=sys.stderr, flush=True)
