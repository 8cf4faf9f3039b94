#!/usr/bin/env python3
"""Writes the seed corpus of both fuzz targets: real requests of each exchange (orders,
withdrawals, batch orders, amends, reads) and tricky encodings, in keyward::fuzzing's input
format. Run from the repository root: python3 fuzz/make_seeds.py"""
import hashlib, json, os

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
H = "host: 127.0.0.1:8080"

def seed(ex, method, target, ct=None, body="", extra=()):
    lines = [ex, f"{method} /main{target}", H] + list(extra)
    if ct:
        lines.append(f"content-type: {ct}")
    return ("\n".join(lines) + "\n\n" + body).encode()

def j(o):
    return json.dumps(o, separators=(",", ":"))

S = [
    # Binance: orders (query, form, both), batch, amend, cancel, withdrawal, tricky encodings.
    seed("binance", "POST", "/api/v3/order?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&timestamp=1&signature=ab"),
    seed("binance", "POST", "/api/v3/order", FORM, "symbol=BTCUSDT&side=SELL&type=MARKET&quoteOrderQty=100&recvWindow=5000"),
    seed("binance", "POST", "/api/v3/order?symbol=BTCUSDT", FORM, "side=BUY&type=LIMIT&quantity=0.5&price=%EF%BC%91"),
    seed("binance", "POST", "/fapi/v1/batchOrders", FORM, 'batchOrders=[{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","quantity":"1","price":"100","timeInForce":"GTC"}]'),
    seed("binance", "PUT", "/api/v3/order/amend/keepPriority?symbol=BTCUSDT&orderId=1&newQty=0.001"),
    seed("binance", "DELETE", "/api/v3/order?symbol=BTCUSDT&orderId=12"),
    seed("binance", "GET", "/api/v3/account?omitZeroBalances=true"),
    seed("binance", "POST", "/sapi/v1/capital/withdraw/apply?coin=BTC&address=x&amount=1"),
    seed("binance", "POST", "/api/v3/order?symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1e-3&price=+30000"),
    seed("binance", "POST", "/api/v3/order?symbol=BTC%55SDT&side=buy&type=LIMIT&quantity=0.010&price=00030000.0"),
    seed("binance", "POST", "/api/v3/order", FORM, "symbol=BTCUSDT&_method=PUT"),
    seed("binance", "POST", "/api/v3/%6frder?symbol=BTCUSDT"),
    seed("binance", "GET", "/api/v3/order?symbol=A&SYMBOL=B"),
    # Bybit
    seed("bybit", "POST", "/v5/order/create", JSON, j({"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.01","price":"30000"})),
    seed("bybit", "POST", "/v5/order/create-batch", JSON, j({"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"100"},{"symbol":"ETHUSDT","side":"Sell","orderType":"Market","qty":"2"}]})),
    seed("bybit", "POST", "/v5/order/create", JSON, '{"symbol":"BTCUSDT","qty":"1","qty":"100"}'),
    seed("bybit", "POST", "/v5/asset/withdraw/create", JSON, j({"coin":"USDT","chain":"ETH","address":"0x0","amount":"10"})),
    seed("bybit", "GET", "/v5/order/realtime?category=spot&symbol=BTCUSDT"),
    # OKX
    seed("okx", "POST", "/api/v5/trade/order", JSON, j({"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.01","px":"30000"})),
    seed("okx", "POST", "/api/v5/trade/batch-orders", JSON, j([{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"}])),
    seed("okx", "POST", "/api/v5/asset/withdrawal", JSON, j({"ccy":"BTC","amt":"1","dest":"4","toAddr":"x"})),
    seed("okx", "POST", "/api/v5/trade/amend-order", JSON, j({"instId":"BTC-USDT","ordId":"1","newSz":"2"})),
    # Bitget
    seed("bitget", "POST", "/api/v2/spot/trade/place-order", JSON, j({"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"30000","size":"0.01"})),
    seed("bitget", "POST", "/api/v2/spot/trade/batch-orders", JSON, j({"symbol":"BTCUSDT","orderList":[{"side":"buy","orderType":"market","size":"10"}]})),
    # Coinbase
    seed("coinbase", "POST", "/api/v3/brokerage/orders", JSON, j({"client_order_id":"1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"30000"}}})),
    seed("coinbase", "POST", "/api/v3/brokerage/orders", JSON, j({"client_order_id":"2","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}})),
    seed("coinbase", "GET", "/api/v3/brokerage/accounts?limit=10"),
    # Deribit
    seed("deribit", "GET", "/api/v2/private/buy?instrument_name=BTC-PERPETUAL&amount=10&type=limit&price=30000"),
    seed("deribit", "POST", "/api/v2/private/buy", JSON, j({"jsonrpc":"2.0","id":1,"method":"private/buy","params":{"instrument_name":"BTC-PERPETUAL","amount":10,"type":"market"}})),
    seed("deribit", "GET", "/api/v2/private/withdraw?currency=BTC&address=x&amount=1"),
    # Alpaca
    seed("alpaca", "POST", "/trading/v2/orders", JSON, j({"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"150"})),
    seed("alpaca", "PATCH", "/trading/v2/orders/61e69015-8549-4bfd-b9c3-01e75843f47d", JSON, j({"qty":"2"})),
    seed("alpaca", "GET", "/trading/v2/orders:by_client_order_id?client_order_id=x"),
    # KuCoin
    seed("kucoin", "POST", "/api/v1/orders", JSON, j({"clientOid":"1","side":"buy","symbol":"BTC-USDT","type":"limit","price":"30000","size":"0.01"})),
    seed("kucoin", "POST", "/api/v1/hf/orders", JSON, j({"clientOid":"2","side":"sell","symbol":"BTC-USDT","type":"market","funds":"10"})),
    seed("kucoin", "POST", "/api/v1/withdrawals", JSON, j({"currency":"BTC","address":"x","amount":"1"})),
    # Kraken (form and JSON)
    seed("kraken", "POST", "/0/private/AddOrder", FORM, "nonce=1&ordertype=limit&type=buy&volume=0.01&pair=XBTUSD&price=30000"),
    seed("kraken", "POST", "/0/private/AddOrder", FORM, "nonce=2&ordertype=stop-loss-limit&type=sell&volume=1&pair=XBTUSD&price=1&price2=2&close[ordertype]=limit&close[price]=3"),
    seed("kraken", "POST", "/0/private/AddOrderBatch", JSON, j({"nonce":3,"pair":"XBTUSD","orders":[{"ordertype":"limit","type":"buy","volume":"1","price":"1"}]})),
    seed("kraken", "POST", "/0/private/Withdraw", FORM, "nonce=4&asset=XBT&key=k&amount=1"),
    # Gate (PATCH mirrors the query)
    seed("gate", "POST", "/api/v4/spot/orders", JSON, j({"currency_pair":"BTC_USDT","side":"buy","type":"limit","amount":"0.01","price":"30000"})),
    seed("gate", "PATCH", "/api/v4/spot/orders/123?currency_pair=BTC_USDT", JSON, j({"currency_pair":"BTC_USDT","amount":"1"})),
    seed("gate", "POST", "/api/v4/spot/batch_orders", JSON, j([{"currency_pair":"BTC_USDT","side":"sell","type":"market","amount":"1"}])),
    seed("gate", "POST", "/api/v4/withdrawals", JSON, j({"currency":"USDT","amount":"1","address":"x"})),
    # BitMEX
    seed("bitmex", "POST", "/api/v1/order", JSON, j({"symbol":"XBTUSD","side":"Buy","orderQty":100,"price":30000,"ordType":"Limit"})),
    seed("bitmex", "PUT", "/api/v1/order", JSON, j({"orderID":"x","orderQty":200})),
    seed("bitmex", "GET", "/api/v1/order?symbol=XBTUSD&reverse=true"),
    seed("bitmex", "DELETE", "/api/v1/order", JSON, j({"orderID":"x"})),
    seed("bitmex", "POST", "/api/v1/user/requestWithdrawal", JSON, j({"currency":"XBt","amount":1000,"address":"x"})),
    # Tricky encodings and framing on any profile.
    seed("bybit", "POST", "/v5/order/create", JSON, '{"symbol":"BTC\\u0055SDT","qty":"1.0e0","price":"\u00e9\u4e2d"}'),
    seed("bybit", "POST", "/v5/order/create", JSON, '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}'),
    seed("okx", "POST", "/api/v5/trade/order", "application/json; charset=utf-8", j({"instId":"BTC-USDT","sz":"-0","px":"1E3"})),
    seed("binance", "GET", "/api/v3/order?symbol=%E2%82%AC&x=%2F%3F%23%26%3D%2B+%25"),
    seed("binance", "GET", "/api/v3/order?a%5B%5D=1&a.b=2&a[0]=3"),
    seed("binance", "POST", "/api/v3/order", FORM, "symbol=BTCUSDT", extra=("transfer-encoding: chunked",)),
    seed("binance", "POST", "/api/v3/order", FORM, "symbol=BTCUSDT", extra=("x-http-method-override: DELETE", "content-type: application/json")),
    seed("binance", "POST", "/../main/api/v3/order?symbol=BTCUSDT"),
    seed("kraken", "POST", "/0/private/AddOrder", FORM, "nonce=1&volume=%C0%AE&pair=XBT%00USD"),
]

for target in ("canonicaliser", "policy"):
    d = os.path.join("fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    for s in S:
        name = hashlib.sha1(s).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(s)
print(len(S), "seeds per target")
