//! Where a path goes: its host and how much of the credential it needs, and the path patterns
//! presets, deny rules and public-data lists are written in.

use super::path_index::PathIndex;

/// How much of the credential an endpoint needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Public market data: forwarded without key or signature.
    Public,
    /// Needs the API key header but no signature (e.g. Binance listen keys).
    KeyOnly,
    /// Needs the key and a signature.
    Signed,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::KeyOnly => "key-only",
            Access::Signed => "signed",
        }
    }
}

/// Where a path goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The exchange's host for this path (replaced by the credential's `upstream` override in tests).
    pub host: &'static str,
    pub access: Access,
}

/// An exchange's public market data, forwarded unsigned: path patterns and path prefixes,
/// minus private endpoints that live under a public prefix. Everything else is signed.
#[derive(Clone, Copy, Debug)]
pub struct PublicPaths {
    /// Path patterns (`{x}` matches one segment, see [`path_matches`]).
    pub paths: &'static [&'static str],
    /// Path prefixes (`/v5/market/`).
    pub prefixes: &'static [&'static str],
    /// Private endpoints under one of the prefixes, compared exactly.
    pub except: &'static [&'static str],
    /// `paths`, indexed (built with them, so the two always agree).
    index: &'static PathIndex,
}

impl PublicPaths {
    /// These paths, prefixes and exceptions, the paths indexed once for the whole process.
    pub fn new(
        paths: &'static [&'static str],
        prefixes: &'static [&'static str],
        except: &'static [&'static str],
    ) -> Self {
        PublicPaths {
            paths,
            prefixes,
            except,
            index: Box::leak(Box::new(PathIndex::new(paths.iter().copied()))),
        }
    }

    /// Whether `path` is public market data.
    pub fn contains(&self, path: &str) -> bool {
        (self.prefixes.iter().any(|p| path.starts_with(p))
            || self
                .index
                .first(path, |i| path_matches(self.paths[*i], path))
                .is_some())
            && !self.except.contains(&path)
    }

    /// [`Access::Public`] for public market data, else [`Access::Signed`].
    pub fn access(&self, path: &str) -> Access {
        if self.contains(path) {
            Access::Public
        } else {
            Access::Signed
        }
    }
}

/// Whether `path` matches a pattern whose `{x}` segments match any one non-empty segment
/// without `:`. A `:` in a segment is matched only literally (`/v2/orders:by_client_order_id`):
/// APIs that use it mark a custom method (`resource:verb`) with it, so an order id or symbol
/// holding one could name a different endpoint upstream than the pattern means.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    path_matches_with(pattern, path, |p, g| p == g)
}

/// [`path_matches`] with another comparison of literal segments (e.g. ASCII case-insensitive).
pub fn path_matches_with(pattern: &str, path: &str, same: impl Fn(&str, &str) -> bool) -> bool {
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return true,
            (Some(p), Some(g)) => {
                let wildcard = p.starts_with('{') && p.ends_with('}');
                let fills_wildcard = wildcard && !g.is_empty() && !g.contains(':');
                if !fills_wildcard && !same(p, g) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(path_matches("/api/v3/order", "/api/v3/order"));
        assert!(!path_matches("/api/v3/order", "/api/v3/order/test"));
        assert!(!path_matches("/api/v3/order", "/api/v3/Order"));
        assert!(path_matches("/orders/{id}", "/orders/42"));
        assert!(!path_matches("/orders/{id}", "/orders/42/fills"));
        assert!(!path_matches("/orders/{id}", "/orders"));
        assert!(!path_matches("/orders/{id}", "/orders/42:cancel"));
        assert!(!path_matches("/orders/{id}", "/orders/:"));
        assert!(!path_matches("/orders", "/orders:by_id"));
        assert!(path_matches("/orders:by_id", "/orders:by_id"));
        assert!(!path_matches("/orders:by_id", "/orders:BY_ID"));
    }

    #[test]
    fn public_paths() {
        let public = PublicPaths::new(
            &["/v1/time", "/v1/ticker/{symbol}"],
            &["/v1/market/"],
            &["/v1/market/private"],
        );
        for p in [
            "/v1/time",
            "/v1/ticker/BTC",
            "/v1/market/depth",
            "/v1/market/",
        ] {
            assert_eq!(public.access(p), Access::Public, "{p}");
        }
        for p in [
            "/v1/Time",
            "/v1/time/x",
            "/v1/ticker",
            "/v1/ticker/a:b",
            "/v1/market",
            "/v1/market/private",
            "/v1/order",
        ] {
            assert_eq!(public.access(p), Access::Signed, "{p}");
        }
        assert!(PublicPaths::new(&[], &["/a/"], &[]).contains("/a/b"));
        assert!(!PublicPaths::new(&["/a"], &[], &[]).contains("/a/b"));
    }
}
