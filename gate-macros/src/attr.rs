//! The macros' options: keywords, duplicate-detecting slots, the error
//! collector, and the parsers of `#[gate(...)]`, `#[with_switches(...)]`
//! and the derive's `#[gate(...)]` attributes.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitBool, LitStr, Path, Token};

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

/// Gathers every error of one macro call, so the user sees all of them in
/// one build (serde's `Ctxt`). It must be [`finish`](Errors::finish)ed.
pub(crate) struct Errors {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Errors {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanned on `tokens`.
    pub(crate) fn error(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn error_at(&self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error.
    pub(crate) fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Errors used after finish")
            .push(error);
    }

    /// Whether no error was recorded yet.
    pub(crate) fn is_empty(&self) -> bool {
        match self.errors.borrow().as_ref() {
            Some(errors) => errors.is_empty(),
            None => true,
        }
    }

    /// All the errors recorded, combined into one; `Ok` if none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut errors = errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in errors {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("gate-macros: Errors dropped without finish()");
        }
    }
}

/// An option that may be given once: a second one is an error spanned on
/// its keyword.
pub(crate) struct Slot<T> {
    name: &'static str,
    value: Option<(Span, T)>,
}

impl<T> Slot<T> {
    pub(crate) fn new(name: &'static str) -> Self {
        Slot { name, value: None }
    }

    /// Sets the option given at `keyword`, or records a duplicate.
    pub(crate) fn set(&mut self, errors: &Errors, keyword: Span, value: T) {
        if self.value.is_some() {
            errors.error_at(
                keyword,
                format_args!("`{}` is specified more than once", self.name),
            );
        } else {
            self.value = Some((keyword, value));
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.value.is_some()
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, v)| v)
    }

    pub(crate) fn span(&self) -> Option<Span> {
        self.value.as_ref().map(|(s, _)| *s)
    }

    pub(crate) fn take(self) -> Option<T> {
        self.value.map(|(_, v)| v)
    }
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

/// Checks a switch name as the core does (`switch::validate_name`), so a
/// name the manager would reject never compiles.
pub(crate) fn check_name(errors: &Errors, lit: &LitStr) {
    let name = lit.value();
    let problem = if name.is_empty() {
        Some("the feature name must not be empty".to_owned())
    } else if name.contains('.') {
        Some(format!(
            "invalid feature name {name:?}: `.` is reserved for namespaces"
        ))
    } else if name.split(':').any(str::is_empty) {
        Some(format!(
            "invalid feature name {name:?}: `:` separates parent and child, so no part may be empty"
        ))
    } else if name.chars().any(char::is_control) {
        Some(format!(
            "invalid feature name {name:?}: control characters are not allowed"
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        errors.error(lit, problem);
    }
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

/// The path to gate's support module, `::gate::__private` by default.
pub(crate) fn private(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::gate::__private),
    }
}

// ---------------------------------------------------------------------
// #[gate("feature", ...)]

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
                    check_name(errors, &lit);
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

// ---------------------------------------------------------------------
// #[with_switches(name = bool, ...)]

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
                check_name(errors, &name);
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

// ---------------------------------------------------------------------
// #[derive(Arguments)]: #[gate(...)] on the struct and its fields

/// `#[gate(kind = "...", crate = "...")]` on the struct.
pub(crate) struct ContainerAttrs {
    pub(crate) kind: Option<LitStr>,
    pub(crate) krate: Option<Path>,
}

/// `#[gate(id | skip | rename = "..." | with = path)]` on a field.
pub(crate) struct FieldAttrs {
    pub(crate) id: Slot<()>,
    pub(crate) skip: Slot<()>,
    pub(crate) rename: Slot<LitStr>,
    pub(crate) with: Slot<Path>,
}

/// Calls `each` for every `#[gate(...)]` among `attrs`, with its options
/// as a stream; a syntax error is recorded and the attribute skipped.
fn each_gate_attr(
    errors: &Errors,
    attrs: &[syn::Attribute],
    mut each: impl FnMut(ParseStream<'_>) -> syn::Result<()>,
) {
    for attr in attrs {
        if !attr.path().is_ident("gate") {
            continue;
        }
        let parser = |input: ParseStream<'_>| -> syn::Result<()> {
            loop {
                if input.is_empty() {
                    break;
                }
                each(input)?;
                if !comma(input)? {
                    break;
                }
            }
            Ok(())
        };
        let result = match &attr.meta {
            syn::Meta::List(list) => syn::parse::Parser::parse2(parser, list.tokens.clone()),
            other => Err(syn::Error::new_spanned(
                other,
                "expected options in parentheses: #[gate(...)]",
            )),
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
}

impl ContainerAttrs {
    pub(crate) fn from_attrs(errors: &Errors, attrs: &[syn::Attribute]) -> ContainerAttrs {
        let mut kind = Slot::new("kind");
        let mut krate = Slot::new("crate");
        each_gate_attr(errors, attrs, |input| {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::kind) {
                let keyword: kw::kind = input.parse()?;
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                let value = lit.value();
                if value.is_empty() {
                    errors.error(&lit, "the kind must not be empty");
                } else if value.starts_with('@') {
                    errors.error(
                        &lit,
                        "a kind must not start with `@` (reserved for \"@id\", the identity)",
                    );
                }
                kind.set(errors, keyword.span, lit);
            } else if lookahead.peek(Token![crate]) {
                let keyword: Token![crate] = input.parse()?;
                if let Some(path) = parse_crate_path(errors, input)? {
                    krate.set(errors, keyword.span, path);
                }
            } else if input.peek(Ident::peek_any) {
                let ident = Ident::parse_any(input)?;
                let hint = match ident.to_string().as_str() {
                    "id" | "skip" | "rename" | "with" => {
                        format!("`{ident}` belongs on a field, not on the struct")
                    }
                    _ => format!("unknown option `{ident}`: expected `kind` or `crate`"),
                };
                errors.error(&ident, hint);
                skip_option(input);
            } else {
                return Err(lookahead.error());
            }
            Ok(())
        });
        ContainerAttrs {
            kind: kind.take(),
            krate: krate.take(),
        }
    }
}

impl FieldAttrs {
    pub(crate) fn from_attrs(errors: &Errors, attrs: &[syn::Attribute]) -> FieldAttrs {
        let mut this = FieldAttrs {
            id: Slot::new("id"),
            skip: Slot::new("skip"),
            rename: Slot::new("rename"),
            with: Slot::new("with"),
        };
        each_gate_attr(errors, attrs, |input| {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::id) {
                let keyword: kw::id = input.parse()?;
                this.id.set(errors, keyword.span, ());
            } else if lookahead.peek(kw::skip) {
                let keyword: kw::skip = input.parse()?;
                this.skip.set(errors, keyword.span, ());
            } else if lookahead.peek(kw::rename) {
                let keyword: kw::rename = input.parse()?;
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                if lit.value().is_empty() {
                    errors.error(&lit, "an attribute name must not be empty");
                }
                this.rename.set(errors, keyword.span, lit);
            } else if lookahead.peek(kw::with) {
                let keyword: kw::with = input.parse()?;
                input.parse::<Token![=]>()?;
                this.with.set(errors, keyword.span, input.parse::<Path>()?);
            } else if input.peek(Ident::peek_any) {
                let ident = Ident::parse_any(input)?;
                let hint = match ident.to_string().as_str() {
                    "kind" | "crate" => {
                        format!("`{ident}` belongs on the struct, not on a field")
                    }
                    _ => format!(
                        "unknown field option `{ident}`: expected `id`, `skip`, `rename` or `with`"
                    ),
                };
                errors.error(&ident, hint);
                skip_option(input);
            } else {
                return Err(lookahead.error());
            }
            Ok(())
        });
        // Options that make no sense together.
        if let Some(skip) = this.skip.span() {
            for (other, span) in [
                ("id", this.id.span()),
                ("rename", this.rename.span()),
                ("with", this.with.span()),
            ] {
                if span.is_some() {
                    errors.error_at(
                        skip,
                        format_args!("`skip` cannot be combined with `{other}`"),
                    );
                }
            }
        } else if this.id.is_set() {
            for (other, span) in [("rename", this.rename.span()), ("with", this.with.span())] {
                if let Some(span) = span {
                    errors.error_at(
                        span,
                        format_args!(
                            "`{other}` cannot be combined with `id`: the identity field is not an attribute (conditions reach it as the identity, \"@id\")"
                        ),
                    );
                }
            }
        }
        this
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
