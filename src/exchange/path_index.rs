//! An index of a table's path patterns, built once when the table is loaded, so a request's
//! lookup does not scan the whole table (Binance lists ~90 public paths; the profile checked
//! each one per request).
//!
//! The index only narrows the search: [`PathIndex::first`] still runs the caller's own test
//! (method and [`super::path_matches`]) on each candidate, in table order, so it finds exactly
//! the entry a scan of the table would (`tests::the_index_finds_what_a_scan_finds`).

use std::collections::HashMap;

/// The positions of a table's path patterns, by what a path must be to match them.
///
/// * A pattern without a `{x}` segment matches only its own text: such patterns are kept by
///   that text.
/// * A pattern with one matches only paths with as many `/`-separated segments: such
///   patterns are kept by their number of segments.
///
/// Every pattern that can match a path is among that path's [`candidates`](Self::candidates).
#[derive(Debug, Default)]
pub struct PathIndex {
    literal: HashMap<Box<str>, Vec<usize>>,
    by_segments: Vec<Vec<usize>>,
}

impl PathIndex {
    /// The index of `patterns`, by their position in the table.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Self {
        let mut index = PathIndex::default();
        for (position, pattern) in patterns.into_iter().enumerate() {
            if pattern.split('/').any(is_wildcard) {
                let n = segments(pattern);
                if index.by_segments.len() <= n {
                    index.by_segments.resize_with(n + 1, Vec::new);
                }
                index.by_segments[n].push(position);
            } else {
                index
                    .literal
                    .entry(pattern.into())
                    .or_default()
                    .push(position);
            }
        }
        index
    }

    /// The positions of the patterns that may match `path`, in table order.
    pub fn candidates<'i>(&'i self, path: &str) -> impl Iterator<Item = usize> + 'i {
        let literal = self.literal.get(path).map_or(&[][..], Vec::as_slice);
        let patterns = self
            .by_segments
            .get(segments(path))
            .map_or(&[][..], Vec::as_slice);
        InOrder {
            a: literal.iter().copied().peekable(),
            b: patterns.iter().copied().peekable(),
        }
    }

    /// The first position (in table order) among the candidates for `path` that `matches`
    /// accepts: with `matches` the scan's own test, what the scan would find.
    pub fn first(&self, path: &str, matches: impl FnMut(&usize) -> bool) -> Option<usize> {
        self.candidates(path).find(matches)
    }
}

/// Whether a pattern's segment is a `{x}` wildcard, as [`super::path_matches`] reads one.
fn is_wildcard(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// How many `/`-separated segments `path` has, as [`super::path_matches`] splits it.
fn segments(path: &str) -> usize {
    path.bytes().filter(|b| *b == b'/').count() + 1
}

/// Two ascending sequences of positions merged into one, ascending.
struct InOrder<A: Iterator<Item = usize>, B: Iterator<Item = usize>> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A: Iterator<Item = usize>, B: Iterator<Item = usize>> Iterator for InOrder<A, B> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match (self.a.peek(), self.b.peek()) {
            (Some(a), Some(b)) if b < a => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

#[cfg(test)]
#[path = "path_index/tests.rs"]
mod tests;
