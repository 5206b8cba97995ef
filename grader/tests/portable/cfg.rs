//! Which `#[cfg(...)]` attributes keep code to Unix-like systems.

use syn::punctuated::Punctuated;
use syn::{Attribute, Meta, Token};

/// The `target_os` values of Unix-like systems (`cfg(unix)` holds on each).
const UNIX_SYSTEMS: &[&str] = &[
    "linux",
    "android",
    "macos",
    "ios",
    "freebsd",
    "openbsd",
    "netbsd",
    "dragonfly",
    "illumos",
    "solaris",
];

/// Whether one of `attrs` is a `#[cfg(...)]` that holds only on Unix-like
/// systems: code under it is never built for Windows.
pub fn gates(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| match &attr.meta {
        Meta::List(list) if list.path.is_ident("cfg") => list
            .parse_args::<Meta>()
            .is_ok_and(|predicate| only_on_unix(&predicate)),
        _ => false,
    })
}

/// Whether the predicate written `text` (`cfg(unix)`, as in a manifest's
/// `[target.'cfg(unix)'.dependencies]`) holds only on Unix-like systems.
pub fn cfg_text_gates(text: &str) -> bool {
    syn::parse_str::<Meta>(text).is_ok_and(|meta| match meta {
        Meta::List(list) if list.path.is_ident("cfg") => list
            .parse_args::<Meta>()
            .is_ok_and(|predicate| only_on_unix(&predicate)),
        _ => false,
    })
}

/// `unix`, `target_family = "unix"`, `target_os = "<a Unix>"`; `all(...)`
/// when one part is; `any(...)` when every part is. `not(...)` never is:
/// `not(windows)` still holds on targets without `std::os::unix`.
pub fn only_on_unix(predicate: &Meta) -> bool {
    match predicate {
        Meta::Path(path) => path.is_ident("unix"),
        Meta::NameValue(pair) => {
            let value = match &pair.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => s.value(),
                _ => return false,
            };
            (pair.path.is_ident("target_family") && value == "unix")
                || (pair.path.is_ident("target_os") && UNIX_SYSTEMS.contains(&value.as_str()))
        }
        Meta::List(list) => {
            let Ok(parts) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            else {
                return false;
            };
            if list.path.is_ident("all") {
                parts.iter().any(only_on_unix)
            } else if list.path.is_ident("any") {
                !parts.is_empty() && parts.iter().all(only_on_unix)
            } else {
                false
            }
        }
    }
}
