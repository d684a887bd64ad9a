//! Fuzz surrogate cards: a card read beside the weights of the shipped autoregulated-gene
//! surrogate either loads or gives an error, never a panic or an allocation sized by the
//! card before it is checked.
#![no_main]

use crnkit::surrogate::{Surrogate, builtin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(b) = builtin::find("autoregulated") else {
        return;
    };
    let _ = Surrogate::from_bytes(data, "fuzz/card.json", b.weights, "model.safetensors");
});
