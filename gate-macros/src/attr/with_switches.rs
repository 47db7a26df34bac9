//! `#[with_switches(name = bool, "a:b" = bool, manager = .., crate = "..")]`.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Expr, Ident, LitBool, LitStr, Path, Token};

use super::{comma, kw, parse_crate_path};
use crate::check;
use crate::errors::{Errors, Slot};

/// The options of `#[with_switches(...)]`.
pub(crate) struct SwitchesArgs {
    pub(crate) switches: Vec<(LitStr, LitBool)>,
    pub(crate) manager: Option<Expr>,
    pub(crate) krate: Option<Path>,
}

impl SwitchesArgs {
    pub(crate) fn parse(errors: &Errors, input: ParseStream<'_>) -> syn::Result<SwitchesArgs> {
        let mut switches: Vec<(LitStr, LitBool)> = Vec::new();
        let mut manager = Slot::new("manager");
        let mut krate = Slot::new("crate");
        loop {
            if input.is_empty() {
                break;
            }
            if input.peek(kw::manager) && input.peek2(Token![=]) {
                let keyword: kw::manager = input.parse()?;
                input.parse::<Token![=]>()?;
                manager.set(errors, keyword.span, input.parse::<Expr>()?);
            } else if input.peek(Token![crate]) && input.peek2(Token![=]) {
                let keyword: Token![crate] = input.parse()?;
                if let Some(path) = parse_crate_path(errors, input)? {
                    krate.set(errors, keyword.span, path);
                }
            } else {
                let lookahead = input.lookahead1();
                let name = if lookahead.peek(LitStr) {
                    input.parse::<LitStr>()?
                } else if lookahead.peek(Ident::peek_any) {
                    let ident = Ident::parse_any(input)?;
                    LitStr::new(&ident.unraw().to_string(), ident.span())
                } else {
                    return Err(lookahead.error());
                };
                input.parse::<Token![=]>()?;
                let value: Expr = input.parse()?;
                check::name(errors, &name);
                let value = match value {
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Bool(b),
                        ..
                    }) => Some(b),
                    other => {
                        errors.error(
                            &other,
                            format_args!(
                                "expected `true` or `false`: the state to force {:?} into",
                                name.value()
                            ),
                        );
                        None
                    }
                };
                if switches.iter().any(|(n, _)| n.value() == name.value()) {
                    errors.error(
                        &name,
                        format_args!("the switch {:?} is given more than once", name.value()),
                    );
                } else if let Some(value) = value {
                    switches.push((name, value));
                }
            }
            if !comma(input)? {
                break;
            }
        }
        if switches.is_empty() && errors.is_empty() {
            errors.error_at(
                Span::call_site(),
                "no switch given: write #[gate::with_switches(cool_feature = true)]",
            );
        }
        Ok(SwitchesArgs {
            switches,
            manager: manager.take(),
            krate: krate.take(),
        })
    }
}
