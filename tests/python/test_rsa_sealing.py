"""A credential sealed to an RSA-3072 key on the token (`keyward keygen --algorithm rsa3072`),
for HSMs without ECDH: the recipient says RSA and the OAEP hash the token decrypts with
(SHA-1 on SoftHSM 2.6), and an unmodified ccxt bot trades through it, every request verified
by the mock."""

import json
import re

import pytest

import harness

ccxt = pytest.importorskip("ccxt")


@pytest.fixture(scope="module")
def rsa_stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("rsa-sealing"),
                                     keygen_args=("--algorithm", "rsa3072"))


def test_recipient_and_vault_say_rsa(rsa_stack):
    assert re.fullmatch(r"kwr1-rsa3072-(sha1|sha256)-[A-Za-z0-9_-]+", rsa_stack.recipient)
    hash_id = rsa_stack.recipient.split("-")[2]
    vault = json.loads((rsa_stack.dir / "vault" / f"{rsa_stack.credential}.kwv").read_text())
    assert vault["keyward_vault"] == 1
    assert vault["stanza"]["alg"] == f"rsa-oaep-{hash_id}-hkdf-sha256"
    assert "ek" in vault["stanza"] and "epk" not in vault["stanza"]
    assert "unsealed from" in rsa_stack.check.stdout


def test_orders_are_signed_with_the_unsealed_secret(rsa_stack):
    bot = harness.ccxt_bot(ccxt.binance, rsa_stack)
    bot.load_markets()
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    assert order["id"]
    harness.assert_all_verified(rsa_stack)


def test_a_second_keygen_refuses_to_replace_the_key(rsa_stack):
    cp = rsa_stack.run("keygen", "--config", str(rsa_stack.config), "--algorithm", "rsa3072",
                       check=False)
    assert cp.returncode == 4, cp
    assert "already exists" in cp.stderr and "will not replace" in cp.stderr, cp.stderr


def test_recipient_prints_the_same_recipient_again(rsa_stack):
    cp = rsa_stack.run("recipient", "--config", str(rsa_stack.config))
    assert cp.stdout.strip() == rsa_stack.recipient
