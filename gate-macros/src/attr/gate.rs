//! `#[gate("feature", arg = .., args(..), manager = .., otherwise = .., crate = "..")]`.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Path, Token};

use super::{comma, kw, parse_crate_path, skip_option};
use crate::check;
use crate::errors::{Errors, Slot};

/// The inputs of a check: `arg = x` or `args(a, b)`.
pub(crate) enum InputsOption {
    One(Ident),
    Many(Vec<Ident>),
}

/// The options of `#[gate(...)]`.
pub(crate) struct GateArgs {
    pub(crate) feature: Option<LitStr>,
    pub(crate) inputs: Option<InputsOption>,
    pub(crate) manager: Option<Expr>,
    pub(crate) otherwise: Option<Expr>,
    pub(crate) krate: Option<Path>,
}

const GATE_OPTIONS: &str = "`arg`, `args`, `manager`, `otherwise` or `crate`";

/// A parameter name in `arg = ..` / `args(..)`: an identifier or `self`.
fn parse_param(input: ParseStream<'_>) -> syn::Result<Ident> {
    if input.peek(Token![self]) {
        return Ident::parse_any(input);
    }
    input.parse()
}

impl GateArgs {
    /// Parses the options, recording misuse in `errors`; a syntax error
    /// (unbalanced or unexpected tokens) is returned.
    pub(crate) fn parse(errors: &Errors, input: ParseStream<'_>) -> syn::Result<GateArgs> {
        let mut feature = Slot::new("feature");
        let mut inputs = Slot::new("arg");
        let mut manager = Slot::new("manager");
        let mut otherwise = Slot::new("otherwise");
        let mut krate = Slot::new("crate");
        let mut first = true;
        loop {
            if input.is_empty() {
                break;
            }
            let lookahead = input.lookahead1();
            if lookahead.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                if !first && !feature.is_set() {
                    errors.error(
                        &lit,
                        "the feature name comes first: #[gate(\"feature\", ...)]",
                    );
                }
                if feature.is_set() {
                    errors.error(&lit, "the feature name is given more than once");
                } else {
                    check::name(errors, &lit);
                    let span = lit.span();
                    feature.set(errors, span, lit);
                }
            } else if lookahead.peek(kw::arg) {
                let keyword: kw::arg = input.parse()?;
                input.parse::<Token![=]>()?;
                let ident = parse_param(input)?;
                match inputs.get() {
                    Some(InputsOption::Many(_)) => {
                        errors.error(keyword, "give either `arg` or `args`, not both")
                    }
                    _ => inputs.set(errors, keyword.span, InputsOption::One(ident)),
                }
            } else if lookahead.peek(kw::args) {
                let keyword: kw::args = input.parse()?;
                let content;
                syn::parenthesized!(content in input);
                let idents = content.parse_terminated(parse_param, Token![,])?;
                let idents: Vec<Ident> = idents.into_iter().collect();
                if idents.is_empty() {
                    errors.error(
                        keyword,
                        "`args()` needs at least one parameter: args(user, request)",
                    );
                } else if idents.len() > 8 {
                    errors.error(&idents[8], "a check takes at most 8 inputs");
                }
                match inputs.get() {
                    Some(InputsOption::One(_)) => {
                        errors.error(keyword, "give either `arg` or `args`, not both")
                    }
                    Some(InputsOption::Many(_)) => {
                        errors.error(keyword, "`args` is specified more than once")
                    }
                    None => inputs.set(errors, keyword.span, InputsOption::Many(idents)),
                }
            } else if lookahead.peek(kw::manager) {
                let keyword: kw::manager = input.parse()?;
                input.parse::<Token![=]>()?;
                manager.set(errors, keyword.span, input.parse::<Expr>()?);
            } else if lookahead.peek(kw::otherwise) {
                let keyword: kw::otherwise = input.parse()?;
                input.parse::<Token![=]>()?;
                otherwise.set(errors, keyword.span, input.parse::<Expr>()?);
            } else if lookahead.peek(Token![crate]) {
                let keyword: Token![crate] = input.parse()?;
                if let Some(path) = parse_crate_path(errors, input)? {
                    krate.set(errors, keyword.span, path);
                }
            } else if input.peek(Ident::peek_any)
                && (input.peek2(Token![=]) || input.peek2(syn::token::Paren))
            {
                let ident = Ident::parse_any(input)?;
                errors.error(
                    &ident,
                    format_args!("unknown option `{ident}`: expected {GATE_OPTIONS}"),
                );
                skip_option(input);
            } else if input.peek(syn::Lit) || input.peek(Ident::peek_any) || input.peek(Token![::])
            {
                // A feature name that is not a string literal: a constant,
                // a number, a macro call, ...
                let expr: Expr = input.parse()?;
                errors.error(
                    &expr,
                    "the feature name must be a string literal: #[gate(\"feature\", ...)]",
                );
                // Stands in for the name, so "missing name" is not reported too.
                feature.set(errors, expr.span(), LitStr::new("invalid", expr.span()));
            } else {
                return Err(lookahead.error());
            }
            first = false;
            if !comma(input)? {
                break;
            }
        }
        if !feature.is_set() {
            errors.error_at(
                Span::call_site(),
                "missing feature name: write #[gate(\"feature\", ...)]",
            );
        }
        Ok(GateArgs {
            feature: feature.take(),
            inputs: inputs.take(),
            manager: manager.take(),
            otherwise: otherwise.take(),
            krate: krate.take(),
        })
    }
}
