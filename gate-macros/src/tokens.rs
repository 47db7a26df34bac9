//! Helpers to build the generated tokens: the path to gate's support
//! module, and spans set so rustc reports a generated expression at the
//! user's tokens.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::Path;

/// The path to gate's support module, `::gate::__private` by default.
pub(crate) fn private(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::gate::__private),
    }
}

/// `tokens` with every span set to `span` (groups included), so a
/// generated expression is reported at the user's token.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// The spans of the first and last tokens of `tokens`: an expression
/// whose first token has the first and whose closing group has the last
/// is reported over the whole range on stable (where spans cannot be
/// joined).
pub(crate) fn first_last(tokens: &impl ToTokens) -> (Span, Span) {
    let mut iter = tokens.to_token_stream().into_iter();
    let first = iter.next().map_or_else(Span::call_site, |t| t.span());
    let last = iter.last().map_or(first, |t| t.span());
    (first, last)
}

/// `path(args)` reported over `first..last`: the path at `first`, the
/// parenthesized arguments at `last`.
pub(crate) fn call_over(
    path: TokenStream,
    args: TokenStream,
    (first, last): (Span, Span),
) -> TokenStream {
    let mut out = respan(path, first);
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, args);
    group.set_span(last);
    out.extend([proc_macro2::TokenTree::Group(group)]);
    out
}

/// A type as the user wrote it, for messages (`Vec<u8>`, not `Vec < u8 >`).
pub(crate) fn show(tokens: &impl ToTokens) -> String {
    let mut s = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
        ("' ", "'"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
    ] {
        s = s.replace(from, to);
    }
    s
}
