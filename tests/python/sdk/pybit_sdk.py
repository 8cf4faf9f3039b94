"""pybit (Bybit's SDK). It builds its URL as https://api.{domain}.{tld}, so it is configured with
domain="keyward", tld="localhost:PORT" (KW_TLD) and reaches keyward's TLS listener of the
credential (no path prefix) at api.keyward.localhost, which the test resolves to 127.0.0.1; the
CA comes from REQUESTS_CA_BUNDLE."""

import os

from pybit.unified_trading import HTTP

from common import TOKEN, step

session = HTTP(api_key=TOKEN, api_secret="dummy-not-used", domain="keyward",
               tld=os.environ["KW_TLD"], max_retries=1)  # 1 attempt (0 makes pybit fail)
step("read", lambda: session.get_wallet_balance(accountType="UNIFIED")["retCode"])
placed = step("place", lambda: session.place_order(
    category="spot", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.01",
    price="30000")["result"])
if placed:
    step("cancel", lambda: session.cancel_order(category="spot", symbol="BTCUSDT",
                                                orderId=placed["orderId"])["result"])
step("withdraw", lambda: session.withdraw(coin="USDT", chain="ETH", address="0x" + "12" * 20,
                                          amount="100", timestamp=1, forceChain=0))
