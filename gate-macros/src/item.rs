//! A function item whose body stays opaque tokens (as in
//! `tracing-attributes`): the macros put statements in front of the body
//! and write everything else back unchanged.

use proc_macro2::{Group, TokenStream};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Pat, Signature, Visibility};

/// `#[outer] vis fn name(..) -> ret { #![inner] body }`.
pub(crate) struct FnItem {
    pub(crate) outer: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) inner: Vec<Attribute>,
    pub(crate) brace: syn::token::Brace,
    pub(crate) body: TokenStream,
}

impl Parse for FnItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let outer = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        if input.peek(syn::Token![;]) {
            return Err(input.error("this function has no body to guard"));
        }
        let content;
        let brace = syn::braced!(content in input);
        let inner = content.call(Attribute::parse_inner)?;
        let body: TokenStream = content.parse()?;
        Ok(FnItem {
            outer,
            vis,
            sig,
            inner,
            brace,
            body,
        })
    }
}

impl FnItem {
    /// Parses the item an attribute is on; if it is not a function with a
    /// body, the error (saying what `attribute` goes on) followed by the
    /// untouched item, so rustc still reports the user's own mistakes.
    pub(crate) fn parse_or_fallback(
        item: TokenStream,
        attribute: &str,
    ) -> Result<FnItem, TokenStream> {
        syn::parse2(item.clone()).map_err(|e| {
            let mut out =
                syn::Error::new(e.span(), format_args!("{attribute}: {e}")).to_compile_error();
            out.extend(item);
            out
        })
    }

    /// The item with `prelude` put in front of the body (after the
    /// body's inner attributes).
    pub(crate) fn with_prelude(&self, prelude: TokenStream) -> TokenStream {
        let mut out = TokenStream::new();
        for attr in &self.outer {
            attr.to_tokens(&mut out);
        }
        self.vis.to_tokens(&mut out);
        self.sig.to_tokens(&mut out);
        let mut inside = TokenStream::new();
        for attr in &self.inner {
            attr.to_tokens(&mut inside);
        }
        inside.extend(prelude);
        inside.extend(self.body.clone());
        let mut group = Group::new(proc_macro2::Delimiter::Brace, inside);
        group.set_span(self.brace.span.join());
        out.append(group);
        out
    }

    /// The names bound by the parameters (`self` included), for `arg`.
    pub(crate) fn parameter_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for input in &self.sig.inputs {
            match input {
                syn::FnArg::Receiver(_) => names.push("self".to_owned()),
                syn::FnArg::Typed(typed) => bindings(&typed.pat, &mut names),
            }
        }
        names
    }
}

/// The identifiers a pattern binds.
fn bindings(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.unraw_string());
            if let Some((_, sub)) = &p.subpat {
                bindings(sub, out);
            }
        }
        Pat::Reference(p) => bindings(&p.pat, out),
        Pat::Paren(p) => bindings(&p.pat, out),
        Pat::Type(p) => bindings(&p.pat, out),
        Pat::Tuple(p) => p.elems.iter().for_each(|e| bindings(e, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| bindings(e, out)),
        Pat::Slice(p) => p.elems.iter().for_each(|e| bindings(e, out)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| bindings(&f.pat, out)),
        Pat::Or(p) => p.cases.iter().for_each(|c| bindings(c, out)),
        _ => {}
    }
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for syn::Ident {
    fn unraw_string(&self) -> String {
        syn::ext::IdentExt::unraw(self).to_string()
    }
}
