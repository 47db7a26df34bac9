//! `#[with_switches(name = bool, ...)]`: override guards in front of a test
//! function's body, alive until the body ends.
//!
//! In an `async fn` (under `#[tokio::test]`, either order) the guards are
//! part of the future: made on its first poll, kept across every `.await`,
//! dropped when it completes. `#[tokio::test]` polls that future on the
//! test's own thread in both flavors, and overrides are seen by the thread
//! that made them, so the body sees them and parallel tests do not.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

use crate::attr::{self, SwitchesArgs};
use crate::errors::Errors;
use crate::item::FnItem;
use crate::tokens;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn = match FnItem::parse_or_fallback(
        item.clone(),
        "#[with_switches(...)] goes on a test function",
    ) {
        Ok(f) => f,
        Err(fallback) => return fallback,
    };
    let errors = Errors::new();
    let args = attr::parse_with(&errors, attr, SwitchesArgs::parse);
    match (errors.finish(), args) {
        (Ok(()), Some(args)) => item_fn.with_prelude(prelude(&args)),
        (result, _) => {
            let mut out = result
                .err()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
            out.extend(item);
            out
        }
    }
}

fn prelude(args: &SwitchesArgs) -> TokenStream {
    let private = tokens::private(args.krate.as_ref());
    // Names the body cannot see (local variables resolve at the macro).
    let manager_var = Ident::new("__gate_manager", Span::mixed_site());
    let guards_var = Ident::new("__gate_overrides", Span::mixed_site());
    let manager = match &args.manager {
        Some(expr) => quote_spanned!(expr.span()=> &(#expr)),
        None => quote!(#private::default()),
    };
    let guards = args.switches.iter().map(|(name, value)| {
        quote_spanned! {name.span()=>
            #private::override_switch(#manager_var, #name, #value)
        }
    });
    quote! {
        let #manager_var: &#private::Manager = #manager;
        let #guards_var = [#(#guards),*];
        let _ = &#guards_var;
    }
}
