//! The policy engine (check → decide → permit → sign) over arbitrary requests against a fixed
//! allowlist with limits; the properties are `keyward::proxy::fuzzing::policy`'s.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    keyward::proxy::fuzzing::policy(data);
});
