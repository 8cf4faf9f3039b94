//! The canonicaliser over arbitrary requests of every exchange profile; the properties are
//! `keyward::proxy::fuzzing::canonicaliser`'s.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    keyward::proxy::fuzzing::canonicaliser(data);
});
