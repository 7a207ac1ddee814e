//! Fuzzes the scenario loader: YAML parsing (serde-saphyr), the model's deserialisation, every
//! validation rule, and the rendering of what went wrong (miette's graphical report with file,
//! line and column, which slices the input by the spans the parser reports). It must never
//! panic, hang or allocate without bound; whether a scenario is accepted is not judged here.
//! Planning is left out: it issues the PKI (key generation), which is not input parsing.
//! Seeds: `scenarios/*.yaml` (`cargo xtask fuzz` copies them).
//!
//! Run: `cargo xtask fuzz scenario_load --time 60`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match scenario::parse(text, "fuzz.yaml") {
        Ok(loaded) => {
            let _ = loaded.name();
        }
        Err(invalid) => {
            let _ = invalid.count();
            let _ = invalid.to_string();
            let _ = invalid.render(false);
        }
    }
});
