"""pytest fixtures for keyward's end-to-end tests.

Each test module gets its own temporary directory, SoftHSM token, ports, mock exchange and
keyward process (module-scoped fixtures), so modules can run in parallel (pytest-xdist
--dist loadfile) without sharing anything.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


@pytest.fixture(scope="module")
def mock_only(tmp_path_factory):
    """The mock exchange alone (no keyward), with a fresh CA and one random credential."""
    d = tmp_path_factory.mktemp("mock")
    harness.make_ca(d / "ca")
    api_key, secret = harness.binance_like_key(), harness.binance_like_key()
    m = harness.Mock(d / "mock", {api_key: secret}, d / "ca").start()
    m.api_key, m.secret = api_key, secret
    m.ca_pem = d / "ca" / "ca.pem"
    yield m
    m.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """SoftHSM token + keygen + seal + client token + config + mock + `keyward serve`."""
    yield from harness.running_stack(tmp_path_factory.mktemp("keyward"))
