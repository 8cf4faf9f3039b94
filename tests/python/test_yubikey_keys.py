"""Exchange API key pairs kept on a YubiKey, through the real binary and a virtual PIV card
(scripts/vpiv/): `keyward keygen --api-key ... --slot 82` generates the pair in a PIV slot,
`keyward import --in-token --slot 82` records it, and every request is signed by the card
(Binance Ed25519 on firmware 5.7, Coinbase ES256 on 5.4); the mock exchange is given only the
public key keygen printed and verifies each signature with it. Also: what a YubiKey refuses
(Ed25519 before 5.7, HMAC secrets, a missing --slot) and --slot on a PKCS#11 token.
"""

import json
import shutil
from pathlib import Path

import pytest

import harness
from test_in_token import COINBASE_KEY, private_pem

ccxt = pytest.importorskip("ccxt")

if not (shutil.which("pcscd") and Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists()):
    pytest.skip("pcscd or vsmartcard-vpcd missing (scripts/test.sh installs them)",
                allow_module_level=True)


def vault_json(stack):
    return json.loads((stack.dir / "vault" / f"{stack.credential}.kwv").read_text())


def card_signatures(stack, alg):
    """How many GENERAL AUTHENTICATE signatures with slot 82 the card made, by algorithm id."""
    return stack.yubikey.log_text().count(f"INS 87 P1 {alg} P2 82: 9000")


@pytest.fixture(scope="module")
def binance_on_card(tmp_path_factory):
    api_key = harness.binance_like_key()
    s = harness.Stack(tmp_path_factory.mktemp("binance-ed25519-on-yubikey"), api_key=api_key,
                      api_key_pair="ed25519", yubikey="5.7.1",
                      mock_credentials=lambda pem: {api_key: {"public_key_pem": pem}})
    yield from harness.running(s)


def test_binance_ed25519_key_in_a_yubikey_slot(binance_on_card):
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    s = binance_on_card
    assert isinstance(load_pem_public_key(s.public_pem.encode()), ed25519.Ed25519PublicKey)
    vault = vault_json(s)
    assert vault["in_token"]["type"] == "ed25519" and vault["in_token"]["label"] == "82", vault
    assert "in-token Ed25519 key pair '82'" in s.check.stdout, s.check.stdout
    before = card_signatures(s, "E0")
    bot = harness.ccxt_bot(ccxt.binance, s,
                           secret=private_pem(ed25519.Ed25519PrivateKey.generate()))
    bot.load_markets()
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    bot.cancel_order(order["id"], "BTC/USDT")
    harness.assert_all_verified(s)
    signed = [r for r in s.mock.records() if r.get("key_type") == "ed25519"]
    assert signed and all(r["verified"] for r in signed), s.mock.records()
    # every signature the mock verified was made by the card (the key-permission checks of
    # `keyward check` and serve's start-up were signed by it too, before `before`)
    since = [r for r in signed if "permissions_mode" not in r]
    assert len(signed) - len(since) == 2, signed
    assert card_signatures(s, "E0") - before == len(since)


@pytest.fixture(scope="module")
def coinbase_on_card(tmp_path_factory):
    s = harness.Stack(tmp_path_factory.mktemp("coinbase-p256-on-yubikey"), exchange="coinbase",
                      api_key=COINBASE_KEY, api_key_pair="p256", key_header="CB-ACCESS-KEY",
                      yubikey="5.4.3",
                      mock_credentials=lambda pem: {COINBASE_KEY: {"public_key": pem}})
    yield from harness.running(s)


def test_coinbase_es256_jwt_signed_by_the_yubikey(coinbase_on_card):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    s = coinbase_on_card
    assert vault_json(s)["in_token"]["label"] == "82"
    dummy = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
    before = card_signatures(s, "11")
    bot = ccxt.coinbase({"apiKey": s.token, "secret": dummy, "enableRateLimit": False,
                         "timeout": 30000})
    harness.repoint_ccxt(bot, s.base)
    bot.load_markets()
    bot.fetch_balance({"v3": True})
    harness.assert_all_verified(s)
    assert card_signatures(s, "11") - before >= 1


def test_what_a_yubikey_refuses(coinbase_on_card):
    s = coinbase_on_card
    # Ed25519 needs firmware 5.7; this card is 5.4.3.
    cp = s.run("keygen", "--config", str(s.config), "--api-key", "ed25519", "--name", "ed",
               "--slot", "83", check=False)
    assert cp.returncode == 4 and "Ed25519 needs firmware 5.7 or later" in cp.stderr, cp
    # A slot that holds a key is never replaced.
    cp = s.run("keygen", "--config", str(s.config), "--api-key", "p256", "--name", "again",
               "--slot", "82", check=False)
    assert cp.returncode == 4 and "slot 82 (Retired Key Management) already holds" in cp.stderr
    # A YubiKey labels nothing: --slot is needed, and an HMAC secret cannot go on it.
    for args in (("keygen", "--api-key", "p256", "--name", "x"),
                 ("import", "--name", "x", "--exchange", "binance", "--in-token", "--out",
                  str(s.dir / "x.kwv"))):
        cp = s.run(args[0], "--config", str(s.config), *args[1:], input="k\nsecret-x\n",
                   check=False)
        assert cp.returncode == 2 and "give --slot" in cp.stderr, cp
        assert "cannot hold an HMAC secret" in cp.stderr and "secret-x" not in cp.stderr
    # The sealing key's slot is not an API key's.
    cp = s.run("keygen", "--config", str(s.config), "--api-key", "p256", "--name", "x",
               "--slot", "9d", check=False)
    assert cp.returncode == 2 and "the sealing key's slot" in cp.stderr, cp


def test_slot_is_refused_for_a_pkcs11_token(tmp_path):
    s = harness.Stack(tmp_path)
    s.bin = harness.keyward_binary()
    s.make_token()
    s.config.write_text(s.token_section())
    cp = s.run("keygen", "--config", str(s.config), "--api-key", "p256", "--name", "cb",
               "--slot", "82", check=False)
    assert cp.returncode == 2 and "--slot names a YubiKey's PIV slot" in cp.stderr, cp
    cp = s.run("keygen", "--config", str(s.config), "--touch", "always", check=False)
    assert cp.returncode == 2 and "are YubiKey options" in cp.stderr, cp
