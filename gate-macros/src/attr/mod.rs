//! The macros' options: the keywords, the parsing helpers they share, and
//! one parser per attribute: [`gate`] for `#[gate(...)]` on a function,
//! [`with_switches`] for `#[with_switches(...)]`, [`derive`] for the
//! derive's `#[gate(...)]` on a struct and its fields. Parsers record
//! misuse in [`Errors`] and keep going; rules that span several options
//! or need gate's rules are in [`crate::check`].

mod derive;
mod gate;
mod with_switches;

use proc_macro2::TokenStream;
use syn::parse::ParseStream;
use syn::{LitStr, Path, Token};

use crate::errors::Errors;

pub(crate) use derive::{ContainerAttrs, FieldAttrs};
pub(crate) use gate::{GateArgs, InputsOption};
pub(crate) use with_switches::SwitchesArgs;

/// The options' keywords.
pub(crate) mod kw {
    syn::custom_keyword!(arg);
    syn::custom_keyword!(args);
    syn::custom_keyword!(manager);
    syn::custom_keyword!(otherwise);
    syn::custom_keyword!(id);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(kind);
    syn::custom_keyword!(rename);
    syn::custom_keyword!(with);
}

/// Skips the rest of a malformed option, up to the next top-level comma.
fn skip_option(input: ParseStream<'_>) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if let proc_macro2::TokenTree::Punct(p) = &tt {
                if p.as_char() == ',' {
                    return Ok(((), rest));
                }
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

/// Parses `, ` between options; `false` at the end.
fn comma(input: ParseStream<'_>) -> syn::Result<bool> {
    if input.is_empty() {
        return Ok(false);
    }
    input.parse::<Token![,]>()?;
    Ok(!input.is_empty())
}

/// `crate = "path"`: the path to the `gate` crate.
fn parse_crate_path(errors: &Errors, input: ParseStream<'_>) -> syn::Result<Option<Path>> {
    input.parse::<Token![=]>()?;
    let lit: LitStr = input.parse()?;
    match lit.parse::<Path>() {
        Ok(path) => Ok(Some(path)),
        Err(_) => {
            errors.error(&lit, "`crate` must be a path such as \"::gate\"");
            Ok(None)
        }
    }
}

/// Parses `T` from an attribute's tokens with an error collector.
pub(crate) fn parse_with<T>(
    errors: &Errors,
    tokens: TokenStream,
    parse: fn(&Errors, ParseStream<'_>) -> syn::Result<T>,
) -> Option<T> {
    let parser = |input: ParseStream<'_>| parse(errors, input);
    match syn::parse::Parser::parse2(parser, tokens) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}
