"""coinbase-advanced-py (Coinbase's SDK), base_url = keyward's TLS listener (the SDK only speaks
https; the CA comes from REQUESTS_CA_BUNDLE). The API key is the client token; the secret a
throwaway EC key (the SDK signs its JWT with it; keyward signs its own)."""

import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from coinbase.rest import RESTClient

from common import BASE, TOKEN, step

dummy = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption()).decode()
client = RESTClient(api_key=TOKEN, api_secret=dummy, base_url=BASE)
step("read", lambda: len(client.get_accounts().accounts))
placed = step("place", lambda: client.limit_order_gtc_buy(
    client_order_id=str(uuid.uuid4()), product_id="BTC-USD", base_size="0.01",
    limit_price="30000").to_dict())
if placed and placed.get("success"):
    order_id = placed["success_response"]["order_id"]
    step("cancel", lambda: client.cancel_orders(order_ids=[order_id]).to_dict())
step("transfer", lambda: client.move_portfolio_funds(
    value="100", currency="USD", source_portfolio_uuid=str(uuid.uuid4()),
    target_portfolio_uuid=str(uuid.uuid4())).to_dict())
