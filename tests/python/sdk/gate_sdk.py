"""gate-api (Gate's generated SDK), Configuration(host = keyward + /api/v4)."""

import gate_api

from common import BASE, TOKEN, step

config = gate_api.Configuration(host=BASE + "/api/v4", key=TOKEN, secret="dummy-not-used")
client = gate_api.ApiClient(config)
spot = gate_api.SpotApi(client)
step("read", lambda: len(spot.list_spot_accounts()))
placed = step("place", lambda: spot.create_order(gate_api.Order(
    currency_pair="BTC_USDT", side="buy", type="limit", amount="0.01", price="30000")).id)
if placed:
    step("cancel", lambda: spot.cancel_order(placed, "BTC_USDT").status)
step("withdraw", lambda: gate_api.WithdrawalApi(client).withdraw(gate_api.LedgerRecord(
    currency="USDT", address="0x" + "12" * 20, amount="100", chain="ETH")))
