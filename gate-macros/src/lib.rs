//! Procedural macros of `gate`. Use them through the `gate` crate:
//! `use gate::{gate, Arguments};`.

use proc_macro::TokenStream;

/// Runs the function's body only when a feature switch is active.
/// (Being built: see issue 3.)
#[proc_macro_attribute]
pub fn gate(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Sets switch overrides for a whole test function.
/// (Being built: see issue 3.)
#[proc_macro_attribute]
pub fn with_switches(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Implements `gate::Arguments` for a struct with named fields.
/// (Being built: see issue 3.)
#[proc_macro_derive(Arguments, attributes(gate))]
pub fn derive_arguments(_item: TokenStream) -> TokenStream {
    TokenStream::new()
}
