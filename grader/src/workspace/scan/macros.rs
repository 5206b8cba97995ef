//! Macro calls and definitions. A call's body is read as Rust when it
//! parses as expressions (`println!("{}", x)`) or statements and items
//! (`vec![x; n]`, `thread_local! { ... }`), else token by token; a
//! `macro_rules!` body is read as what it expands to, with each `$name` a
//! plain name and each `$(...)*` written once. `include!` reads the file it
//! names in the scope it is written in; `include_str!` and `include_bytes!`
//! check what they read as a string.

use super::names::{Position, TYPE, VALUE};
use super::package::{literal_argument, Place};
use super::rules::{self, Rule};
use super::walk::{path_line, Walk};
use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};
use std::path::Path;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Block, Expr, Token};

/// The built-in macros that read a file.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Include {
    Code,
    Text,
}

impl Walk<'_> {
    /// A macro call: built-ins by what their path resolves to, then the body.
    pub fn macro_call(&mut self, mac: &syn::Macro) {
        let segments: Vec<String> = mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let leading = mac.path.leading_colon.is_some();
        let line = path_line(&mac.path);
        self.named_macro(&segments, leading, mac.tokens.clone(), line);
    }

    /// The macro `segments` (written at `line`) called with `body`.
    fn named_macro(&mut self, segments: &[String], leading: bool, body: TokenStream, line: usize) {
        let candidates = self.resolve(segments, leading, Position::MACRO);
        // By name too: a `macro_rules!` of the same name defined further
        // down does not hide the built-in where it is called.
        let builtin = |name: &str| {
            segments.last().is_some_and(|last| last == name)
                || candidates.iter().any(|c| match c.as_slice() {
                    [only] => only == name,
                    [krate, only] => (krate == "std" || krate == "core") && only == name,
                    _ => false,
                })
        };
        if builtin("include") {
            return self.include(Include::Code, body, line);
        }
        if builtin("include_str") || builtin("include_bytes") {
            return self.include(Include::Text, body, line);
        }
        if builtin("concat") {
            self.concat(body.clone(), line);
        }
        self.body(body);
    }

    /// A macro body: as Rust where it parses, else as tokens.
    fn body(&mut self, body: TokenStream) {
        let exprs = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(body.clone());
        if let Ok(exprs) = exprs {
            for expr in &exprs {
                self.visit_expr(expr);
            }
            return;
        }
        if let Ok(stmts) = Block::parse_within.parse2(body.clone()) {
            return self.statements(&stmts);
        }
        self.tokens(body, false);
    }

    /// `macro_rules!`: each rule's expansion, read as Rust.
    pub fn macro_rules(&mut self, mac: &syn::Macro) {
        let trees: Vec<TokenTree> = mac.tokens.clone().into_iter().collect();
        for (index, tree) in trees.iter().enumerate() {
            let after_arrow =
                index >= 2 && is_punct(&trees[index - 1], '>') && is_punct(&trees[index - 2], '=');
            if let (true, TokenTree::Group(expansion)) = (after_arrow, tree) {
                self.body(plain_expansion(expansion.stream()));
            }
        }
    }

    /// `include!` and friends: a plain literal inside `src`, whose contents
    /// are read too.
    fn include(&mut self, kind: Include, body: TokenStream, line: usize) {
        let Ok(literal) = literal_argument.parse2(body) else {
            return self.flag(line, Rule::ComputedInclude, String::new());
        };
        let value = literal.value();
        let dir = self
            .place
            .file
            .parent()
            .unwrap_or(Path::new(""))
            .to_path_buf();
        if rules::leaves_src(&value, &dir, &self.pkg.src_dir) {
            return self.flag(line, Rule::OutsideSrc, format!("{value:?}"));
        }
        let file = rules::joined(&dir, &value);
        let Some(bytes) = self.pkg.read(&file) else {
            return;
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        match kind {
            Include::Text => {
                if let Some(rule) = rules::literal(&text) {
                    self.flag(line, rule, format!("in {value:?}"));
                }
            }
            Include::Code if self.may_include() => self.included_code(&file, &text),
            Include::Code => {}
        }
    }

    /// An included file's code, read where `include!` is written.
    fn included_code(&mut self, file: &Path, text: &str) {
        self.pkg.reached.insert(file.to_path_buf());
        if let Some(line) = rules::too_deep(text) {
            return self.pkg.flag(file, line, Rule::TooDeep, String::new());
        }
        let place = Place {
            file: file.to_path_buf(),
            ..self.place.clone()
        };
        self.include_depth += 1;
        if let Some(parsed) = self.pkg.parse_quietly(file, text) {
            self.items_at(&parsed.items, place);
        } else if let Ok(expr) = syn::parse_str::<Expr>(text) {
            let outer = std::mem::replace(&mut self.place, place);
            self.visit_expr(&expr);
            self.place = outer;
        } else if let Err(error) = syn::parse_file(text) {
            let line = error.span().start().line.max(1);
            self.pkg
                .flag(file, line, Rule::Unparsable, error.to_string());
        }
        self.include_depth -= 1;
    }

    /// `concat!` of literals: the string it makes.
    fn concat(&mut self, body: TokenStream, line: usize) {
        let Ok(parts) = Punctuated::<syn::Lit, Token![,]>::parse_terminated.parse2(body) else {
            return;
        };
        let joined: String = parts
            .iter()
            .map(|lit| match lit {
                syn::Lit::Str(s) => s.value(),
                syn::Lit::Char(c) => c.value().to_string(),
                syn::Lit::Int(i) => i.base10_digits().to_owned(),
                syn::Lit::Float(f) => f.base10_digits().to_owned(),
                syn::Lit::Bool(b) => b.value.to_string(),
                _ => String::new(),
            })
            .collect();
        self.literal(&joined, line);
    }

    /// Tokens that do not parse as Rust: each path (not after `.`, not a
    /// `$` variable) resolved, each string checked, each macro call read.
    /// In an attribute (`attribute`), names are the attribute's own and not
    /// resolved; `path = "..."` is checked.
    pub fn tokens(&mut self, stream: TokenStream, attribute: bool) {
        let trees: Vec<TokenTree> = stream.into_iter().collect();
        let mut index = 0;
        while index < trees.len() {
            index = match &trees[index] {
                TokenTree::Group(group) => {
                    self.tokens(group.stream(), attribute);
                    index + 1
                }
                TokenTree::Literal(literal) => {
                    self.token_literal(literal);
                    index + 1
                }
                TokenTree::Punct(_) => index + 1,
                TokenTree::Ident(ident) => self.token_ident(&trees, index, ident, attribute),
            };
        }
    }

    fn token_literal(&mut self, literal: &proc_macro2::Literal) {
        let line = literal.span().start().line;
        match syn::parse2::<syn::Lit>(TokenTree::Literal(literal.clone()).into()) {
            Ok(syn::Lit::Str(s)) => self.literal(&s.value(), line),
            Ok(syn::Lit::ByteStr(s)) => self.literal(&String::from_utf8_lossy(&s.value()), line),
            Ok(syn::Lit::CStr(s)) => self.literal(&s.value().to_string_lossy(), line),
            _ => {}
        }
    }

    /// The ident at `index` and the path it starts; the index after it.
    fn token_ident(
        &mut self,
        trees: &[TokenTree],
        index: usize,
        ident: &Ident,
        attribute: bool,
    ) -> usize {
        let line = ident.span().start().line;
        let before = index.checked_sub(1).map(|i| &trees[i]);
        if before.is_some_and(|t| is_punct(t, '.')) {
            if ident == "exec" {
                self.pkg.exec_calls.push((self.place.file.clone(), line));
            }
            return index + 1;
        }
        if before.is_some_and(|t| is_punct(t, '$')) {
            return index + 1;
        }
        self.token_keyword(trees, index, ident, line);
        let (segments, end) = path_at(trees, index);
        let leading = leading_colon(trees, index);
        if let (true, Some(TokenTree::Group(body))) =
            (is_punct_at(trees, end, '!'), trees.get(end + 1))
        {
            self.named_macro(&segments, leading, body.stream(), line);
            return end + 2;
        }
        if attribute {
            self.token_path_attribute(trees, index, ident, line);
            return index + 1;
        }
        let at = if segments.len() == 1 {
            Position {
                ns: TYPE | VALUE,
                may_be_local: true,
            }
        } else {
            Position::ANY
        };
        self.check(&segments, leading, at, line);
        end
    }

    /// Linker attributes and extern blocks, as tokens.
    fn token_keyword(&mut self, trees: &[TokenTree], index: usize, ident: &Ident, line: usize) {
        if ["link_section", "no_mangle", "export_name"]
            .iter()
            .any(|n| ident == n)
        {
            self.flag(line, Rule::Linker, format!("{ident}"));
        }
        if ident != "extern" {
            return;
        }
        let is_block = match (trees.get(index + 1), trees.get(index + 2)) {
            (Some(TokenTree::Group(g)), _) => g.delimiter() == Delimiter::Brace,
            (Some(TokenTree::Literal(_)), Some(TokenTree::Group(g))) => {
                g.delimiter() == Delimiter::Brace
            }
            _ => false,
        };
        if is_block {
            self.flag(line, Rule::Extern, String::new());
        }
    }

    /// `path = "..."` inside an attribute's tokens (`cfg_attr`).
    fn token_path_attribute(
        &mut self,
        trees: &[TokenTree],
        index: usize,
        ident: &Ident,
        line: usize,
    ) {
        if ident != "path" || !is_punct_at(trees, index + 1, '=') {
            return;
        }
        match trees.get(index + 2) {
            Some(TokenTree::Literal(literal)) => {
                match syn::parse2::<syn::LitStr>(TokenTree::Literal(literal.clone()).into()) {
                    Ok(s) => self.path_attribute(&s.value(), line),
                    Err(_) => self.flag(
                        line,
                        Rule::OutsideSrc,
                        "#[path] with no plain string".to_owned(),
                    ),
                }
            }
            _ => self.flag(
                line,
                Rule::OutsideSrc,
                "#[path] with no plain string".to_owned(),
            ),
        }
    }
}

/// Whether the path starting at `index` starts with `::` (not `a::b`).
fn leading_colon(trees: &[TokenTree], index: usize) -> bool {
    let before = |n: usize| index.checked_sub(n).map(|i| &trees[i]);
    before(1).is_some_and(|t| is_punct(t, ':'))
        && before(2).is_some_and(|t| is_punct(t, ':'))
        && !before(3).is_some_and(|t| matches!(t, TokenTree::Ident(_)) || is_punct(t, '>'))
}

/// `a::b::c` starting at `index`: its segments and the index after it.
fn path_at(trees: &[TokenTree], index: usize) -> (Vec<String>, usize) {
    let mut segments = Vec::new();
    let mut at = index;
    while let Some(TokenTree::Ident(ident)) = trees.get(at) {
        segments.push(ident.to_string());
        let joined = is_punct_at(trees, at + 1, ':') && is_punct_at(trees, at + 2, ':');
        if joined && matches!(trees.get(at + 3), Some(TokenTree::Ident(_))) {
            at += 3;
        } else {
            return (segments, at + 1);
        }
    }
    (segments, at + 1)
}

fn is_punct(tree: &TokenTree, c: char) -> bool {
    matches!(tree, TokenTree::Punct(p) if p.as_char() == c)
}

fn is_punct_at(trees: &[TokenTree], index: usize, c: char) -> bool {
    trees.get(index).is_some_and(|t| is_punct(t, c))
}

/// A `macro_rules!` expansion as plain Rust: `$crate` is `crate`, any
/// other `$name` a name that resolves to nothing, `$(...) sep op` its
/// contents once. Spans are kept, so lines stay right.
fn plain_expansion(stream: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = stream.into_iter().collect();
    let mut out = Vec::new();
    let mut index = 0;
    while index < trees.len() {
        let tree = &trees[index];
        index += 1;
        match tree {
            TokenTree::Punct(p) if p.as_char() == '$' => match trees.get(index) {
                Some(TokenTree::Ident(ident)) => {
                    let name = if ident == "crate" {
                        "crate"
                    } else {
                        "macro_argument"
                    };
                    out.push(TokenTree::Ident(Ident::new(name, ident.span())));
                    index += 1;
                }
                Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {
                    out.extend(plain_expansion(group.stream()));
                    index += 1;
                    index += repetition_tail(&trees[index..]);
                }
                _ => out.push(tree.clone()),
            },
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), plain_expansion(group.stream()));
                inner.set_span(group.span());
                out.push(TokenTree::Group(inner));
            }
            _ => out.push(tree.clone()),
        }
    }
    out.into_iter().collect()
}

/// How many tokens after `$(...)` are its separator and operator.
fn repetition_tail(rest: &[TokenTree]) -> usize {
    let is_op =
        |t: &TokenTree| matches!(t, TokenTree::Punct(p) if matches!(p.as_char(), '*' | '+' | '?'));
    match rest {
        [op, ..] if is_op(op) => 1,
        [_, op, ..] if is_op(op) => 2,
        _ => 0,
    }
}
