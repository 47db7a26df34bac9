//! `#[gate("feature", ...)]`: a guard in front of the function's body.
//!
//! ```text
//! #[gate("beta", arg = user)]                fn f(user: &User) -> Option<u32> {
//! fn f(user: &User) -> Option<u32> {   =>        if !Manager::active(default(), "beta", &user) {
//!     Some(1)                                        return None;
//! }                                              }
//!                                                Some(1)
//!                                            }
//! ```
//!
//! The body is never wrapped in a closure, so `return`, `?` and borrows
//! mean what they meant. In an `async fn` the guard is part of the body,
//! so it runs when the future is first polled, inside whatever
//! `gate::scope` polls it.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Ident, ReturnType, Type};

use crate::attr::{self, GateArgs, InputsOption};
use crate::errors::Errors;
use crate::item::FnItem;
use crate::tokens;

/// What a guarded function returns when its switch is off.
enum Off<'a> {
    /// `()`: the body is skipped.
    Unit,
    /// `Err(Inactive.into())`, spanned on the return type.
    Result(&'a Type),
    /// `None`, spanned on the return type.
    Option(&'a Type),
    /// `otherwise = expr`.
    Otherwise(&'a Expr),
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn = match FnItem::parse_or_fallback(
        item.clone(),
        "#[gate(...)] goes on a function with a body",
    ) {
        Ok(f) => f,
        Err(fallback) => return fallback,
    };
    let errors = Errors::new();
    let args = attr::parse_with(&errors, attr, GateArgs::parse);
    let guard = args.and_then(|args| guard(&errors, &item_fn, &args));
    match (errors.finish(), guard) {
        (Ok(()), Some(guard)) => item_fn.with_prelude(guard),
        (Ok(()), None) => {
            // Never ungate silently: no guard without an error is a bug.
            let mut out = syn::Error::new(
                proc_macro2::Span::call_site(),
                "gate-macros: internal error: no guard was generated (please report)",
            )
            .to_compile_error();
            out.extend(item);
            out
        }
        (result, _) => {
            // The function, untouched, so the rest of the crate still
            // compiles and only the attribute's mistakes are reported.
            let mut out = result
                .err()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
            out.extend(item);
            out
        }
    }
}

/// The statement put in front of the body.
fn guard(errors: &Errors, item: &FnItem, args: &GateArgs) -> Option<TokenStream> {
    let private = tokens::private(args.krate.as_ref());
    if let Some(constness) = &item.sig.constness {
        errors.error(
            constness,
            "#[gate(...)] cannot guard a `const fn`: a switch is read at run time",
        );
    }

    let off = off_value(errors, item, args);
    let valid_inputs = check_inputs(errors, item, args);
    let feature = args.feature.as_ref()?;

    // The manager is bound with its type written out, so a wrong one is a
    // plain type mismatch at the user's expression.
    let manager_var = Ident::new("__gate_manager", Span::mixed_site());
    let manager = match &args.manager {
        Some(expr) => quote_spanned!(expr.span()=> &(#expr)),
        None => quote!(#private::default()),
    };
    let off = match off? {
        Off::Unit => quote!(return;),
        Off::Result(ty) => {
            // Reported over the error type when it lacks From<Inactive>.
            let range = tokens::first_last(error_type(ty));
            let inactive =
                tokens::call_over(quote!(#private::Inactive::new), quote!(#feature), range);
            let error = tokens::call_over(
                quote!(#private::FromInactive::from_inactive),
                inactive,
                range,
            );
            let err = tokens::respan(quote!(#private::Err), range.0);
            quote_spanned!(range.0=> return #err(#error);)
        }
        Off::Option(ty) => quote_spanned!(ty.span()=> return #private::None;),
        Off::Otherwise(expr) => quote_spanned!(expr.span()=> return #expr;),
    };
    valid_inputs?;
    // The inputs go through gate's support traits, which report a
    // parameter that is not an input at the parameter, in gate's words.
    let active = match &args.inputs {
        None => quote!(#private::Manager::active(#manager_var, #feature, ())),
        Some(InputsOption::One(ident)) => {
            let input = quote_spanned!(ident.span()=> &#ident);
            let call = tokens::respan(quote!(#private::Input::active_for), ident.span());
            quote!(#call(#input, #manager_var, #feature))
        }
        Some(InputsOption::Many(idents)) => {
            let refs = idents.iter().map(|i| quote_spanned!(i.span()=> &#i));
            quote!(#private::InputList::active_for((#(#refs,)*), #manager_var, #feature))
        }
    };
    Some(quote! {
        if !{
            let #manager_var: &#private::Manager = #manager;
            #active
        } {
            #off
        }
    })
}

/// Checks that `arg` / `args` name parameters of the function.
fn check_inputs(errors: &Errors, item: &FnItem, args: &GateArgs) -> Option<()> {
    let idents = match &args.inputs {
        None => return Some(()),
        Some(InputsOption::One(ident)) => std::slice::from_ref(ident),
        Some(InputsOption::Many(idents)) => idents.as_slice(),
    };
    let names = item.parameter_names();
    let mut ok = true;
    for ident in idents {
        let name = syn::ext::IdentExt::unraw(ident).to_string();
        if !names.contains(&name) {
            ok = false;
            let fn_name = &item.sig.ident;
            let message = if names.is_empty() {
                format!("`{name}` is not a parameter of `{fn_name}`, which has none")
            } else {
                let list = names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("`{name}` is not a parameter of `{fn_name}`: expected one of {list}")
            };
            errors.error(ident, message);
        }
    }
    ok.then_some(())
}

/// What to return when off; an error if the return type has no default
/// and there is no `otherwise`.
fn off_value<'a>(errors: &Errors, item: &'a FnItem, args: &'a GateArgs) -> Option<Off<'a>> {
    if let Some(expr) = &args.otherwise {
        return Some(Off::Otherwise(expr));
    }
    let ty = match &item.sig.output {
        ReturnType::Default => return Some(Off::Unit),
        ReturnType::Type(_, ty) => ty,
    };
    match unwrap_type(ty) {
        Type::Tuple(t) if t.elems.is_empty() => return Some(Off::Unit),
        Type::Path(p) if p.qself.is_none() => match p.path.segments.last() {
            Some(last) if last.ident == "Result" => return Some(Off::Result(ty)),
            Some(last) if last.ident == "Option" => return Some(Off::Option(ty)),
            _ => {}
        },
        _ => {}
    }
    let shown = tokens::show(ty);
    let message = if item.sig.asyncness.is_none() && returns_future(ty) {
        "#[gate(...)] checks an `async fn` when it is first polled, but this function returns a future: write it as an `async fn`, or add `otherwise = ...` (the value returned when the feature is off) to check when it is called".to_owned()
    } else {
        format!(
            "#[gate(...)] does not know what to return when the feature is off: add `otherwise = ...` with a value of type `{shown}` (only `Result`, `Option` and `()` have a default)"
        )
    };
    errors.error(ty, message);
    None
}

/// `E` in `Result<T, E>`; the whole type for an alias such as
/// `io::Result<T>`.
fn error_type(ty: &Type) -> &Type {
    if let Type::Path(p) = unwrap_type(ty) {
        if let Some(last) = p.path.segments.last() {
            if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                let types: Vec<&Type> = args
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect();
                if let [_, error] = types[..] {
                    return error;
                }
            }
        }
    }
    ty
}

fn unwrap_type(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => unwrap_type(&g.elem),
        Type::Paren(p) => unwrap_type(&p.elem),
        other => other,
    }
}

/// `impl Future<..>` (or `Pin<Box<dyn Future<..>>>`-like types).
fn returns_future(ty: &Type) -> bool {
    let bounds = match unwrap_type(ty) {
        Type::ImplTrait(t) => &t.bounds,
        Type::TraitObject(t) => &t.bounds,
        Type::Path(p) => {
            return p.path.segments.iter().any(|s| match &s.arguments {
                syn::PathArguments::AngleBracketed(a) => a.args.iter().any(|arg| match arg {
                    syn::GenericArgument::Type(t) => returns_future(t),
                    _ => false,
                }),
                _ => false,
            });
        }
        _ => return false,
    };
    bounds.iter().any(|b| match b {
        syn::TypeParamBound::Trait(t) => {
            t.path.segments.last().is_some_and(|s| s.ident == "Future")
        }
        _ => false,
    })
}
