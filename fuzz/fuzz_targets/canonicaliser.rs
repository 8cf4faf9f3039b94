//! The canonicaliser over arbitrary requests of every exchange profile; the properties are
//! `keyward::fuzzing::canonicaliser`'s.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    keyward::fuzzing::canonicaliser(data);
});
