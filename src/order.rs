//! Orders as the exchange will execute them.
//!
//! A limit on a *parameter name* is only as good as the bot's spelling: the exchange executes the
//! order *its own parser* reads, whichever of its documented fields carries the size. So each
//! exchange profile describes every order-creating, amending and batch endpoint it allows with an
//! [`OrderEndpoint`]: where the orders sit in the request ([`Layout`]) and a field table
//! ([`OrderSpec`]) that gives every documented field on that endpoint its [`Meaning`], written from
//! the exchange's own API documentation. [`read`] turns a canonical request into the typed
//! [`Order`]s the exchange would execute, refusing anything it cannot fully read (an unknown
//! member, another spelling of a known one, a malformed or duplicated value); [`limits`] judges
//! each order against a rule's constraints in order terms.
//!
//! The same model serves the REST pipeline, the WebSocket order ops and the audit, so one mistake
//! cannot hide in three places.

mod decimal;
pub mod limits;
mod read;
pub mod table;
#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;

pub use decimal::decimal;
pub use read::read;

use rust_decimal::Decimal;

use crate::request::Method;

/// What a field of an order endpoint means to the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// The instrument by name (`symbol`, `instId`, `product_id`).
    Instrument,
    /// The instrument by a numeric code the exchange resolves (OKX `instIdCode`): keyward cannot
    /// resolve it offline, so an order naming its instrument this way is refused under any rule
    /// that constrains the instrument.
    InstrumentCode,
    /// Buy or sell.
    Side,
    /// The order type (limit, market, stop ...).
    Type,
    /// Size in the base asset or contracts.
    BaseSize,
    /// The size with the order's side in its sign (Gate futures `size`: positive buys, negative
    /// sells): the absolute value is the order's base size, the sign its side (named with these
    /// words), which must agree with any side the order states. A zero has no side: what it
    /// does (a whole-position close, or nothing documented) the table's `size_unit` decides.
    SignedSize {
        buy: &'static str,
        sell: &'static str,
    },
    /// Size in the quote asset (the amount to spend or receive).
    QuoteSize,
    /// The limit price (the execution bound of a limit order).
    Price,
    /// The limit price, except that one documented value means "at the market" (Gate futures
    /// `price` 0 with `tif=ioc`, OKX `orderPx` -1): an order giving that value is a market
    /// order whatever its type says, and has no price. Any other value is a plain decimal.
    PriceOrMarket(&'static str),
    /// The price that triggers a conditional order.
    TriggerPrice,
    /// A field that makes the execution price something other than `Price` (pegged or
    /// price-matched orders, trailing offsets): the order has no price keyward can bound.
    PriceOverride,
    /// A flag that makes the order reduce or close a position only (`true` / `false`).
    ReduceOnly,
    /// A reduce-only flag written with the exchange's own words for true and false (Bitget's
    /// `YES` / `NO`); any other text is refused.
    ReduceOnlyAs(&'static FlagWords),
    /// Leverage riding on the order, or set by a leverage endpoint. `0` is no documented
    /// leverage: a leverage bound refuses it.
    Leverage,
    /// Leverage where `0` switches the position to cross margin (BitMEX, Gate `leverage`):
    /// the cross leverage is then the one the named field gives beside it (Gate's
    /// `cross_leverage_limit`), or, with `None`, one the request does not state (BitMEX: up to
    /// the exchange's maximum), which a leverage bound refuses.
    LeverageOrCross(Option<&'static str>),
    /// Known, documented, and without bearing on size, price or instrument (client ids, time in
    /// force, response type, receive window ...).
    Inert,
    /// The order's size in a second unit that keyward cannot convert to the first (Deribit
    /// `contracts` beside `amount`, an Alpaca position close by `percentage`): a `max` on this
    /// field bounds it as written, and the order's size in the first unit stays unknown.
    OtherUnitSize,
    /// A nested object whose own name is the order type, its members the order's fields
    /// (Coinbase `order_configuration.limit_limit_gtc.{base_size, limit_price}`): the type is the
    /// last segment of the dotted name.
    TypeMember,
    /// A field whose meaning depends on the order's type (Kraken's `price` is the limit price of
    /// a limit order but the trigger of a stop-loss-limit, whose limit price is `price2`).
    ByType(&'static TypeCases),
    /// A field of a second order the exchange places on this one's behalf (a Kraken conditional
    /// close, an Alpaca bracket's take-profit, a Coinbase attached bracket): read with the leg's
    /// own table into an order of its own, judged like any other.
    Leg(&'static LegSpec),
    /// A documented field keyward cannot judge (orders nested without a documented shape, a
    /// deprecated size unit): an order carrying it is refused, with this reason.
    Refused(&'static str),
}

impl Meaning {
    /// What a rule's constraint on a field of this meaning bounds: a type-dependent field its
    /// rule meaning, a leg's field its meaning in the leg, a type-naming object the type. `None`
    /// for a refused field.
    pub fn for_rules(self, name: &str) -> Option<Meaning> {
        match self {
            Meaning::ByType(b) => b.in_rules.for_rules(name),
            Meaning::Leg(leg) => leg.spec.meaning(name).and_then(|m| m.for_rules(name)),
            Meaning::Refused(_) => None,
            // A rule on `instIdCode` keeps comparing the code as written.
            Meaning::InstrumentCode => Some(Meaning::InstrumentCode),
            // Any leverage field's name in a rule bounds every leverage the request sets.
            Meaning::LeverageOrCross(_) => Some(Meaning::Leverage),
            m => Some(m.kind()),
        }
    }

    /// What the field sets on the order, whatever its spelling: two fields of one kind in one
    /// order are ambiguous (`instId` beside `instIdCode` name the instrument twice; `size`
    /// beside `amount` the size).
    pub fn kind(self) -> Meaning {
        match self {
            Meaning::InstrumentCode => Meaning::Instrument,
            Meaning::SignedSize { .. } => Meaning::BaseSize,
            Meaning::PriceOrMarket(_) => Meaning::Price,
            Meaning::ReduceOnlyAs(_) => Meaning::ReduceOnly,
            Meaning::TypeMember => Meaning::Type,
            Meaning::LeverageOrCross(_) => Meaning::Leverage,
            m => m,
        }
    }
}

/// The words a flag is written with ([`Meaning::ReduceOnlyAs`]).
#[derive(Debug, PartialEq, Eq)]
pub struct FlagWords {
    pub yes: &'static [&'static str],
    pub no: &'static [&'static str],
}

/// The meanings of a field whose meaning depends on the order's type.
#[derive(Debug, PartialEq, Eq)]
pub struct TypeCases {
    /// The meaning for orders of the listed types.
    pub cases: &'static [(&'static [&'static str], Meaning)],
    /// The meaning for any other type, and when the order's type is not known (an amend, which
    /// does not restate it): choose the one that judges the order most strictly.
    pub otherwise: Meaning,
    /// What a rule's constraint on this field's name bounds (`max.price` bounds Kraken's limit
    /// price, whichever field carries it).
    pub in_rules: Meaning,
}

impl TypeCases {
    /// The field's meaning on an order of this type.
    pub fn resolve(&self, order_type: Option<&str>) -> Meaning {
        order_type
            .and_then(|t| self.cases.iter().find(|(types, _)| types.contains(&t)))
            .map_or(self.otherwise, |(_, m)| *m)
    }
}

/// A second order attached to an order: it has the parent's instrument and (unless its own
/// fields say otherwise) the parent's size, on the opposite side.
#[derive(Debug)]
pub struct LegSpec {
    /// How messages name the leg (`close`, `take_profit`).
    pub name: &'static str,
    /// The leg's fields, by the full names they have in the parent's request (`close[price]`,
    /// `take_profit.limit_price`), with its types and default type.
    pub spec: &'static OrderSpec,
    /// The leg's type when it names none and its table has no default, decided on the leg as
    /// read (an Alpaca stop-loss leg is a stop-limit order when it gives a limit price).
    pub order_type: Option<fn(&Order) -> Option<&'static str>>,
}

impl PartialEq for LegSpec {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for LegSpec {}

/// The field table of one order endpoint, from the exchange's documentation.
#[derive(Clone, Copy, Debug)]
pub struct OrderSpec {
    /// Every documented field of an order on this endpoint, by its exact name.
    pub fields: &'static [(&'static str, Meaning)],
    /// Order types whose `Price` is the price they execute at or better.
    pub limit_types: &'static [&'static str],
    /// Order types that execute at the market (any price given is ignored or only a trigger).
    pub market_types: &'static [&'static str],
    /// The type an order has when it names none (`None`: the type must be named).
    pub default_type: Option<&'static str>,
    /// The unit the order's `BaseSize` field is really in, decided on the order as read: some
    /// exchanges switch it by a flag (OKX `tgtCcy`, Bybit `marketUnit`, Kraken `oflags=viqc`) or
    /// by type and side (a Gate or Bitget spot market buy is sized in the quote asset).
    /// [`base_unit`] for endpoints where it is always the base asset.
    pub size_unit: fn(&Order) -> Result<SizeUnit, String>,
    /// Where the table was written from.
    pub source: &'static str,
}

impl OrderSpec {
    /// The meaning of a field name, exactly as documented.
    pub fn meaning(&self, name: &str) -> Option<Meaning> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
    }

    /// The documented name a bot's field name would be folded to by a lenient parser (letter
    /// case, `_`/`-` removed: `Quantity`, `base_size` vs `baseSize`), when it is not itself
    /// documented.
    pub fn folded_twin(&self, name: &str) -> Option<&'static str> {
        let folded = fold(name);
        self.fields
            .iter()
            .find(|(n, _)| *n != name && fold(n) == folded)
            .map(|(n, _)| *n)
    }

    /// The first field name with this meaning, however spelled (for messages).
    pub fn name_of(&self, meaning: Meaning) -> Option<&'static str> {
        self.fields
            .iter()
            .find(|(_, m)| m.kind() == meaning.kind())
            .map(|(n, _)| *n)
    }
}

/// What a `BaseSize` field measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeUnit {
    /// The base asset (or contracts).
    Base,
    /// The quote asset: the field is the amount to spend or receive.
    Quote,
    /// An inverse contract's size, counted in the quote currency (a Deribit inverse future's
    /// `amount` in USD): a bound on the field applies to it as written, and it is also the
    /// order's notional.
    Inverse,
    /// Contracts of a multiplier keyward does not know offline (the reason): a bound on the field
    /// applies to it as written, but it converts neither to nor from a quote amount, so the
    /// order has no notional keyward can compute.
    Contracts(&'static str),
    /// The order closes a whole position (the reason: Gate `size` 0 with `close=true`, a KuCoin
    /// `closeOrder`): it has no size keyward can know, so a size or notional bound refuses it,
    /// while a rule without one (a symbol or side rule) judges it like any order.
    WholePosition(&'static str),
}

/// [`OrderSpec::size_unit`] for endpoints whose size field is always in the base asset.
pub fn base_unit(_: &Order) -> Result<SizeUnit, String> {
    Ok(SizeUnit::Base)
}

/// [`OrderSpec::size_unit`] for spot endpoints whose size is in the quote asset on a market buy
/// and in the base asset otherwise (Gate `amount`, Bitget `size`): `type_field` and
/// `size_field` name the exchange's fields in messages.
pub fn quote_on_market_buy(
    order: &Order,
    type_field: &str,
    size_field: &str,
) -> Result<SizeUnit, String> {
    match (order.order_type.as_deref(), order.side.as_deref()) {
        (Some("limit"), _) => Ok(SizeUnit::Base),
        (Some("market"), Some("buy")) => Ok(SizeUnit::Quote),
        (Some("market"), Some("sell")) => Ok(SizeUnit::Base),
        (Some("market"), side) => Err(format!(
            "side={} is neither buy nor sell; keyward cannot tell what a market order's '{size_field}' counts",
            side.unwrap_or("(none)")
        )),
        (other, _) => Err(format!(
            "{type_field}={} is neither limit nor market; keyward cannot tell what '{size_field}' counts",
            other.unwrap_or("(none)")
        )),
    }
}

/// A name as a case- and separator-insensitive parser would see it.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Where the orders of an endpoint sit in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One order: the request's top-level parameters (query, form or JSON object members).
    Flat,
    /// A batch: a JSON array of order objects in one form or query parameter
    /// (Binance futures `batchOrders=[...]`).
    JsonArrayInParam(Batch),
    /// A batch: the JSON body is an array of order objects.
    JsonArrayBody,
    /// A batch: an array of order objects in a top-level JSON member (Bybit `request`, Bitget
    /// `orderList`).
    JsonArrayInMember(Batch),
}

/// Where a batch's orders are, and which other top-level fields may stand beside them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The parameter or member holding the array of orders.
    pub name: &'static str,
    /// The fields the exchange documents beside the batch (a shared `category` or `symbol`, a
    /// receive window). Each is read as a field of every item, so that its meaning (an
    /// instrument) is judged on each order; anything else beside the batch is refused.
    pub shared: &'static [&'static str],
}

/// One order endpoint of an exchange profile.
#[derive(Clone, Copy, Debug)]
pub struct OrderEndpoint {
    pub method: Method,
    /// An exact path, or a pattern whose `{x}` segments match one segment.
    pub path: &'static str,
    pub layout: Layout,
    pub spec: &'static OrderSpec,
}

/// One documented field of an order endpoint and its meaning.
pub type Field = (&'static str, Meaning);

/// The field table of a leverage-setting endpoint (`fields` names its instrument, its
/// leverage fields and the rest): it places no order, so it has no order types and no size.
pub const fn leverage_spec(fields: &'static [Field], source: &'static str) -> OrderSpec {
    OrderSpec {
        fields,
        limit_types: &[],
        market_types: &[],
        default_type: None,
        size_unit: base_unit,
        source,
    }
}

/// An order as the exchange will execute it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Order {
    /// Where the order sits in a batch (`batchOrders[1]: `), empty for a single order; prefixes
    /// every message about it.
    pub at: String,
    pub instrument: Option<String>,
    /// The instrument given by a numeric code instead of a name.
    pub instrument_code: Option<String>,
    pub side: Option<String>,
    /// The order type as written, or the endpoint's default.
    pub order_type: Option<String>,
    pub base_size: Option<Decimal>,
    pub quote_size: Option<Decimal>,
    pub price: Option<Decimal>,
    pub trigger_price: Option<Decimal>,
    /// The field that gave `price`, for messages.
    pub price_field: Option<String>,
    /// The field that overrides the limit price, if any (its execution price is unknown).
    pub price_override: Option<String>,
    /// The field whose documented value made the order a market order
    /// ([`Meaning::PriceOrMarket`]), with that value.
    pub market_by: Option<(String, String)>,
    pub reduce_only: bool,
    /// Every leverage the request sets, by the field that set it and that field's meaning
    /// (Bybit's `buyLeverage` and `sellLeverage`, Gate's `leverage` and
    /// `cross_leverage_limit`).
    pub leverage: Vec<(String, Decimal, Meaning)>,
    /// The size in a second unit ([`Meaning::OtherUnitSize`]), by the field that gave it.
    pub other_size: Option<(String, Decimal)>,
    /// Why the size cannot be valued in the quote asset, when it counts contracts of an unknown
    /// multiplier ([`SizeUnit::Contracts`]).
    pub contracts: Option<&'static str>,
    /// Why the order has no size, when it closes a whole position ([`SizeUnit::WholePosition`]).
    pub whole_position: Option<&'static str>,
    /// Every scalar member of the order as written, for constraints on other fields.
    pub fields: Vec<(String, String)>,
    /// The spec's verdict on the type: executes at `price` or better.
    pub is_limit: bool,
    /// The spec's verdict on the type: executes at the market.
    pub is_market: bool,
}

impl Order {
    /// The raw text of a field of this order.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The price the order executes at or better, when keyward can know it: a limit order's
    /// price, not overridden by a peg.
    pub fn execution_price(&self) -> Option<Decimal> {
        if self.is_limit && self.price_override.is_none() {
            self.price
        } else {
            None
        }
    }

    /// The order's size in the base asset: as given, or a quote size at a known limit price
    /// (not for contracts of an unknown multiplier).
    pub fn base(&self) -> Option<Decimal> {
        match (self.base_size, self.quote_size, self.execution_price()) {
            (Some(b), _, _) => Some(b),
            (None, Some(q), Some(p)) if !p.is_zero() && self.contracts.is_none() => q
                .checked_div(p)
                .map(|b| at_least(b, b.checked_mul(p) == Some(q))),
            _ => None,
        }
    }

    /// The order's value in the quote asset: a quote size as given, or the base size at a known
    /// limit price. A market order sized in the base asset has none (its fill price is unknown),
    /// nor has an order sized in contracts of an unknown multiplier.
    pub fn notional(&self) -> Option<Decimal> {
        match (self.quote_size, self.base_size, self.execution_price()) {
            (Some(q), _, _) => Some(q),
            (None, Some(b), Some(p)) if self.contracts.is_none() => b
                .checked_mul(p)
                .map(|n| at_least(n, n.scale() == b.scale() + p.scale())),
            _ => None,
        }
    }
}

/// A derived size or value that limits can compare without rounding in the order's favour:
/// `value` itself when it is `exact`, else (rust_decimal rounded it to 28 places) one unit of
/// its last place more, which is above the exact value, so an order at the limit is refused
/// rather than one just over it allowed.
fn at_least(value: Decimal, exact: bool) -> Decimal {
    if exact {
        return value;
    }
    value
        .checked_add(Decimal::new(1, value.scale()))
        .unwrap_or(Decimal::MAX)
}
