"""alpaca-py (Alpaca's SDK), TradingClient(url_override = keyward's trading base). An account
setting change stands in for the refused transfer: TradingClient has no transfer call."""

from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.models import AccountConfiguration
from alpaca.trading.requests import LimitOrderRequest

from common import BASE, TOKEN, step

client = TradingClient(TOKEN, "dummy-not-used", paper=False, url_override=BASE + "/trading")
step("read", lambda: str(client.get_account().status))
placed = step("place", lambda: str(client.submit_order(LimitOrderRequest(
    symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
    limit_price=100)).id))
if placed:
    step("cancel", lambda: client.cancel_order_by_id(placed))
step("settings", lambda: client.set_account_configurations(
    AccountConfiguration(dtbp_check="both", fractional_trading=True, max_margin_multiplier="4",
                         no_shorting=False, pdt_check="entry", suspend_trade=False,
                         trade_confirm_email="all", ptp_no_exception_entry=False)))
