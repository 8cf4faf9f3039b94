"""The virtual PIV card (scripts/vpiv/piv_card.py) answers as a YubiKey does.

These drive the card with raw APDUs and check every answer against cryptography computed here
from the card's published values (its encrypted witness, its public keys), so a card that
skipped a check or did its crypto wrong fails. The Rust tests (tests/yubikey_*.rs) then run the
real `yubikey` crate and ykcs11 against the same card through pcscd.
"""

import os
import sys
import time
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "vpiv"))
import piv_card as pc  # noqa: E402

DEFAULT_KEY = bytes.fromhex("010203040506070801020304050607080102030405060708")


def apdu(ins, p1=0, p2=0, data=b"", cla=0):
    return bytes([cla, ins, p1, p2, len(data)]) + data


def sw(answer):
    return int.from_bytes(answer[-2:], "big")


def ok(answer):
    assert sw(answer) == 0x9000, f"{sw(answer):04X}"
    return answer[:-2]


def chained(card, answer):
    """The whole answer, fetching the rest with GET RESPONSE while the card says 61xx."""
    data = b""
    while sw(answer) >> 8 == 0x61:
        data += answer[:-2]
        answer = card.transmit(apdu(0xC0))
    return data + ok(answer)


def inner(answer, tag):
    """The value of `tag` inside the 7C template of an answer."""
    (t, template), = pc.parse_tlvs(ok(answer))
    assert t == 0x7C
    return pc.only(pc.parse_tlvs(template), tag)


@pytest.fixture
def make_card(tmp_path):
    def make(firmware=(5, 7, 1), touch_timeout=0.3, **kw):
        path = tmp_path / f"card-{len(list(tmp_path.iterdir()))}.json"
        pc.StateFile.create(path, pc.new_state(firmware, 4242, **kw))
        card = pc.PivCard(pc.StateFile(path), pc.Touch(str(tmp_path / "touch"), touch_timeout))
        ok(card.transmit(apdu(0xA4, 0x04, 0x00, pc.PIV_AID)))
        card.path = path
        card.touch_file = tmp_path / "touch"
        return card
    return make


def block_cipher(alg, key):
    if alg == pc.ALG_3DES:
        return Cipher(pc.TripleDES(key), modes.ECB())
    return Cipher(algorithms.AES(key), modes.ECB())


def authenticate(card, alg, key=DEFAULT_KEY):
    """Management-key mutual authentication as the yubikey crate does it; returns the card's
    final answer."""
    cipher = block_cipher(alg, key)
    encrypted = inner(card.transmit(apdu(0x87, alg, 0x9B, bytes.fromhex("7c028000"))), 0x80)
    witness = cipher.decryptor().update(encrypted)
    challenge = os.urandom(len(witness))
    body = pc.tlv(0x7C, pc.tlv(0x80, witness) + pc.tlv(0x81, challenge))
    answer = card.transmit(apdu(0x87, alg, 0x9B, body))
    if sw(answer) == 0x9000:
        assert inner(answer, 0x82) == cipher.encryptor().update(challenge), "card's proof"
    return answer


def verify(card, pin=b"123456"):
    return card.transmit(apdu(0x20, 0x00, 0x80, pin.ljust(8, b"\xff")))


def generate(card, slot, alg, pin_policy=None, touch_policy=None):
    items = pc.tlv(0x80, bytes([alg]))
    if pin_policy:
        items += pc.tlv(0xAA, bytes([pin_policy]))
    if touch_policy:
        items += pc.tlv(0xAB, bytes([touch_policy]))
    answer = ok(card.transmit(apdu(0x47, 0, slot, pc.tlv(0xAC, items))))
    assert answer[:2] == b"\x7f\x49"
    (tag, point), = pc.parse_tlvs(answer[3:])
    assert tag == 0x86
    return point


def general_authenticate(card, alg, slot, tag, value):
    body = pc.tlv(0x7C, pc.tlv(0x82, b"") + pc.tlv(tag, value))
    return card.transmit(apdu(0x87, alg, slot, body))


@pytest.mark.parametrize("firmware,alg", [((5, 4, 3), pc.ALG_3DES), ((5, 7, 1), pc.ALG_AES192)])
def test_default_management_key_by_firmware(make_card, firmware, alg):
    card = make_card(firmware)
    meta = dict(pc.parse_tlvs(ok(card.transmit(apdu(0xF7, 0, 0x9B)))))
    assert meta[0x01] == bytes([alg]) and meta[0x05] == b"\x01"
    other = pc.ALG_AES192 if alg == pc.ALG_3DES else pc.ALG_3DES
    assert sw(card.transmit(apdu(0x87, other, 0x9B, bytes.fromhex("7c028000")))) == 0x6A80
    ok(authenticate(card, alg))
    assert card.mgm_authenticated


def test_wrong_management_key_is_refused(make_card):
    card = make_card((5, 7, 1))
    assert sw(authenticate(card, pc.ALG_AES192, bytes(24))) == 0x6982
    assert sw(card.transmit(apdu(0x47, 0, 0x9D, pc.tlv(0xAC, pc.tlv(0x80, b"\x11"))))) == 0x6982


def test_pin_counter_counts_persists_and_blocks(make_card):
    card = make_card()
    assert sw(card.transmit(apdu(0x20, 0, 0x80))) == 0x63C3  # a query is not an attempt
    assert sw(verify(card, b"000000")) == 0x63C2
    # the counter is on the card, not in the session: a new emulator process sees it
    again = pc.PivCard(pc.StateFile(card.path), card.touch)
    ok(again.transmit(apdu(0xA4, 0x04, 0x00, pc.PIV_AID)))
    assert sw(again.transmit(apdu(0x20, 0, 0x80))) == 0x63C2
    ok(verify(again))  # the right PIN resets it
    assert sw(again.transmit(apdu(0x20, 0, 0x80))) == 0x9000
    for left in (2, 1):
        assert sw(verify(again, b"999999")) == 0x63C0 | left
    assert sw(verify(again, b"999999")) == 0x63C0
    assert sw(verify(again)) == 0x6983  # blocked: even the right PIN is refused
    assert sw(again.transmit(apdu(0x20, 0, 0x80))) == 0x6983
    # the PUK unblocks it and sets a new PIN
    body = b"12345678" + b"654321".ljust(8, b"\xff")
    ok(again.transmit(apdu(0x2C, 0, 0x80, body)))
    ok(verify(again, b"654321"))


def test_ecdh_and_signatures_are_real(make_card):
    card = make_card((5, 7, 1))
    ok(authenticate(card, pc.ALG_AES192))
    point = generate(card, 0x9D, pc.ALG_P256)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    peer = ec.generate_private_key(ec.SECP256R1())
    peer_point = peer.public_key().public_bytes(pc.serialization.Encoding.X962,
                                                pc.serialization.PublicFormat.UncompressedPoint)
    assert sw(general_authenticate(card, pc.ALG_P256, 0x9D, 0x85, peer_point)) == 0x6982  # no PIN
    ok(verify(card))
    shared = inner(general_authenticate(card, pc.ALG_P256, 0x9D, 0x85, peer_point), 0x82)
    assert shared == peer.exchange(ec.ECDH(), public)
    bad = bytearray(peer_point)
    bad[-1] ^= 1
    assert sw(general_authenticate(card, pc.ALG_P256, 0x9D, 0x85, bytes(bad))) == 0x6A80

    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"order")
    digest = digest.finalize()
    der = inner(general_authenticate(card, pc.ALG_P256, 0x9D, 0x81, digest), 0x82)
    public.verify(der, b"order", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public.verify(der, b"other", ec.ECDSA(hashes.SHA256()))

    raw = generate(card, 0x82, pc.ALG_ED25519)
    signature = inner(general_authenticate(card, pc.ALG_ED25519, 0x82, 0x81, b"payload"), 0x82)
    ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(signature, b"payload")
    # metadata names algorithm, policies, origin and public key
    meta = dict(pc.parse_tlvs(ok(card.transmit(apdu(0xF7, 0, 0x82)))))
    assert meta[0x01] == bytes([pc.ALG_ED25519]) and meta[0x02] == bytes([2, 1])
    assert meta[0x03] == b"\x01" and meta[0x04] == pc.tlv(0x86, raw)
    assert sw(card.transmit(apdu(0xF7, 0, 0x83))) == 0x6A88  # empty slot


def test_old_firmware_has_no_ed25519(make_card):
    card = make_card((5, 4, 3))
    ok(authenticate(card, pc.ALG_3DES))
    body = pc.tlv(0xAC, pc.tlv(0x80, bytes([pc.ALG_ED25519])))
    assert sw(card.transmit(apdu(0x47, 0, 0x9D, body))) == 0x6A80
    body = pc.tlv(0xAC, pc.tlv(0x80, b"\x07"))  # RSA-2048: not emulated
    assert sw(card.transmit(apdu(0x47, 0, 0x9D, body))) == 0x6A80


def test_pin_policy_always_needs_a_verify_per_operation(make_card):
    card = make_card()
    ok(authenticate(card, pc.ALG_AES192))
    generate(card, 0x9C, pc.ALG_P256, pin_policy=pc.PIN_ALWAYS)
    ok(verify(card))
    ok(general_authenticate(card, pc.ALG_P256, 0x9C, 0x81, bytes(32)))
    assert sw(general_authenticate(card, pc.ALG_P256, 0x9C, 0x81, bytes(32))) == 0x6982
    ok(verify(card))
    ok(general_authenticate(card, pc.ALG_P256, 0x9C, 0x81, bytes(32)))


def test_touch_policy(make_card):
    card = make_card(touch_timeout=0.3)
    ok(authenticate(card, pc.ALG_AES192))
    generate(card, 0x9D, pc.ALG_P256, touch_policy=pc.TOUCH_ALWAYS)
    generate(card, 0x9E, pc.ALG_P256, touch_policy=pc.TOUCH_CACHED)
    ok(verify(card))
    start = time.monotonic()
    assert sw(general_authenticate(card, pc.ALG_P256, 0x9D, 0x81, bytes(32))) == 0x6982
    assert time.monotonic() - start >= 0.3  # it waited for the touch before refusing
    card.touch_file.touch()
    ok(general_authenticate(card, pc.ALG_P256, 0x9D, 0x81, bytes(32)))
    assert not card.touch_file.exists()  # the touch was used up
    assert sw(general_authenticate(card, pc.ALG_P256, 0x9D, 0x81, bytes(32))) == 0x6982
    # cached: the touch just given for 9D counts for 15 s
    ok(general_authenticate(card, pc.ALG_P256, 0x9E, 0x81, bytes(32)))
    meta = dict(pc.parse_tlvs(ok(card.transmit(apdu(0xF7, 0, 0x9D)))))
    assert meta[0x02] == bytes([pc.PIN_ONCE, pc.TOUCH_ALWAYS])


def test_select_and_reset_forget_authentication(make_card):
    card = make_card()
    ok(verify(card))
    ok(authenticate(card, pc.ALG_AES192))
    ok(card.transmit(apdu(0xA4, 0x04, 0x00, pc.PIV_AID)))
    assert not card.pin_verified and not card.mgm_authenticated
    ok(verify(card))
    card.power_on()
    assert sw(card.transmit(apdu(0xFD))) == 0x6D00  # nothing selected after a reset
    assert sw(card.transmit(apdu(0xA4, 0x04, 0x00, bytes.fromhex("a0000005272101")))) == 0x6A82


def test_long_objects_chain_both_ways(make_card):
    card = make_card()
    ok(authenticate(card, pc.ALG_AES192))
    cert = os.urandom(1200)
    body = pc.tlv(0x5C, bytes.fromhex("5fc10b")) + pc.tlv(0x53, cert)
    for i in range(0, len(body), 255):
        last = i + 255 >= len(body)
        ok(card.transmit(apdu(0xDB, 0x3F, 0xFF, body[i:i + 255], cla=0 if last else 0x10)))
    answer = card.transmit(apdu(0xCB, 0x3F, 0xFF, pc.tlv(0x5C, bytes.fromhex("5fc10b"))))
    assert sw(answer) >> 8 == 0x61  # more to come
    assert chained(card, answer) == pc.tlv(0x53, cert)
    missing = card.transmit(apdu(0xCB, 0x3F, 0xFF, pc.tlv(0x5C, bytes.fromhex("5fc105"))))
    assert sw(missing) == 0x6A82


def test_attestation_certifies_the_generated_key(make_card):
    from cryptography import x509
    card = make_card()
    ok(authenticate(card, pc.ALG_AES192))
    point = generate(card, 0x9D, pc.ALG_P256, touch_policy=pc.TOUCH_CACHED)
    cert = x509.load_der_x509_certificate(chained(card, card.transmit(apdu(0xF9, 0x9D))))
    public = cert.public_key()
    assert public.public_bytes(pc.serialization.Encoding.X962,
                               pc.serialization.PublicFormat.UncompressedPoint) == point
    attestation = pc.private_from_hex(card.state.data["attestation"]).public_key()
    attestation.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
    policy = cert.extensions.get_extension_for_oid(
        x509.ObjectIdentifier("1.3.6.1.4.1.41482.3.8")).value.value
    assert policy == bytes([pc.PIN_ONCE, pc.TOUCH_CACHED])
    assert sw(card.transmit(apdu(0xF9, 0x9A))) == 0x6A88  # empty slot

    plain = make_card(attestation=False)
    ok(authenticate(plain, pc.ALG_AES192))
    generate(plain, 0x9D, pc.ALG_P256)
    assert sw(plain.transmit(apdu(0xF9, 0x9D))) == 0x6D00
