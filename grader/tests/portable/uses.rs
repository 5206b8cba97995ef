//! The platform-specific uses of one Rust file, and its `mod x;`
//! declarations, each with whether a `#[cfg]` keeps it to Unix-like systems.

use super::cfg::gates;
use proc_macro2::{TokenStream, TokenTree};
use std::path::{Path, PathBuf};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Attribute, Expr, Item, Token, UseTree};

/// `std::os` modules that exist only on Unix-like systems.
const UNIX_OS_MODULES: &[&str] = &["unix", "linux", "fd", "macos", "android"];
/// Crates that build only for Unix-like systems (or Linux).
const UNIX_CRATES: &[&str] = &["nix", "libc", "landlock"];
/// Methods of `std::os::unix::process::CommandExt`.
const COMMAND_EXT_METHODS: &[&str] = &["process_group", "pre_exec", "exec", "uid", "gid", "groups"];

/// A use of something only Unix-like systems have.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Use {
    pub line: usize,
    pub what: String,
    /// Inside code a `#[cfg]` keeps to Unix-like systems.
    pub gated: bool,
}

/// A `mod name;` declaration: the file it names.
#[derive(Debug, Clone)]
pub struct Declared {
    pub name: String,
    pub file: PathBuf,
    pub gated: bool,
}

/// What one file holds.
#[derive(Debug, Default)]
pub struct FileUses {
    /// `#![cfg(unix)]` at its top.
    pub gated_inside: bool,
    pub uses: Vec<Use>,
    pub modules: Vec<Declared>,
}

/// Read `text`, the file at `path` (whose `mod x;` files are looked for
/// next to it); `gated_modules` are module names declared under a Unix
/// `#[cfg]` somewhere, so that a path through one is a Unix-only use.
pub fn read(path: &Path, text: &str, gated_modules: &[String]) -> Result<FileUses, String> {
    let file = syn::parse_file(text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = Reader {
        module_dirs: vec![children_dir(path)],
        depth: 0,
        found: FileUses {
            gated_inside: gates(&file.attrs),
            ..FileUses::default()
        },
        gated_modules,
    };
    reader.visit_file(&file);
    reader.found.uses.sort();
    reader.found.uses.dedup();
    Ok(reader.found)
}

/// Where the files of `mod x;` declared in `path` are: beside a crate root
/// or `mod.rs`, else in the directory named after the file.
fn children_dir(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let in_target_dir = dir.file_name().is_some_and(|d| {
        ["tests", "benches", "examples", "bin"].contains(&d.to_str().unwrap_or(""))
    });
    if ["lib.rs", "main.rs", "mod.rs", "build.rs"].contains(&name) || in_target_dir {
        dir
    } else {
        dir.join(name.trim_end_matches(".rs"))
    }
}

struct Reader<'a> {
    /// The directory of each module being read (inline `mod a { }` nest).
    module_dirs: Vec<PathBuf>,
    /// How many Unix `#[cfg]`s enclose what is being read.
    depth: usize,
    found: FileUses,
    gated_modules: &'a [String],
}

impl Reader<'_> {
    fn report(&mut self, line: usize, what: String) {
        let gated = self.depth > 0 || self.found.gated_inside;
        self.found.uses.push(Use { line, what, gated });
    }

    /// Read what `attrs` belong to with `read`, counting their gate.
    fn under(&mut self, attrs: &[Attribute], read: impl FnOnce(&mut Self)) {
        let gated = gates(attrs);
        self.depth += usize::from(gated);
        read(self);
        self.depth -= usize::from(gated);
    }

    fn path_segments(&mut self, segments: &[String], line: usize) {
        if let Some(what) = platform_path(segments, self.gated_modules) {
            self.report(line, what);
        }
    }

    /// A string literal a call or a macro takes: a read of a `/proc` file
    /// (or the making of its name). A constant holding one is read where a
    /// call takes the constant, which no reading of one file can follow.
    fn argument(&mut self, expr: &Expr) {
        if let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = expr
        {
            let value = s.value();
            let is_path = value == "/proc" || value.starts_with("/proc/");
            if is_path && !value.contains(char::is_whitespace) {
                self.report(s.span().start().line, format!("reads {value:?}"));
            }
        }
    }

    fn module(&mut self, item: &syn::ItemMod) {
        let dir = self.module_dirs.last().cloned().unwrap_or_default();
        let name = item.ident.to_string();
        let gated = self.depth > 0 || self.found.gated_inside;
        if item.content.is_none() {
            let file = path_attribute(&item.attrs)
                .map(|p| dir.join(p))
                .or_else(|| Some(dir.join(format!("{name}.rs"))).filter(|f| f.is_file()))
                .unwrap_or_else(|| dir.join(&name).join("mod.rs"));
            self.found.modules.push(Declared { name, file, gated });
            return;
        }
        if gated {
            // Its paths through other inline modules count as Unix-only too.
            self.found.modules.push(Declared {
                name: name.clone(),
                file: PathBuf::new(),
                gated,
            });
        }
        self.module_dirs.push(dir.join(&name));
        visit::visit_item_mod(self, item);
        self.module_dirs.pop();
    }

    /// A macro's arguments read as expressions when they are, else its
    /// tokens searched for paths.
    fn macro_body(&mut self, tokens: &TokenStream) {
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        match syn::parse::Parser::parse2(parser, tokens.clone()) {
            Ok(arguments) => {
                for argument in &arguments {
                    self.argument(argument);
                    self.visit_expr(argument);
                }
            }
            Err(_) => self.token_paths(tokens.clone()),
        }
    }

    /// Paths `a::b::c` among raw tokens.
    fn token_paths(&mut self, tokens: TokenStream) {
        let mut segments: Vec<String> = Vec::new();
        let mut line = 0;
        let mut colons = 0;
        for token in tokens {
            match token {
                TokenTree::Ident(ident) => {
                    if colons != 2 {
                        self.path_segments(&segments, line);
                        segments.clear();
                        line = ident.span().start().line;
                    }
                    segments.push(ident.to_string());
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && colons < 2 => colons += 1,
                other => {
                    self.path_segments(&segments, line);
                    segments.clear();
                    colons = 0;
                    if let TokenTree::Group(group) = other {
                        self.token_paths(group.stream());
                    }
                }
            }
        }
        self.path_segments(&segments, line);
    }
}

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        self.under(item_attrs(item), |reader| match item {
            Item::Mod(module) => reader.module(module),
            _ => visit::visit_item(reader, item),
        });
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        flatten(&item.tree, &mut Vec::new(), &mut paths);
        for (segments, line) in paths {
            self.path_segments(&segments, line);
        }
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        match stmt {
            syn::Stmt::Local(local) => self.under(&local.attrs, |r| visit::visit_stmt(r, stmt)),
            syn::Stmt::Macro(mac) => self.under(&mac.attrs, |r| visit::visit_stmt(r, stmt)),
            _ => visit::visit_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'ast Expr) {
        self.under(expr_attrs(expr), |reader| visit::visit_expr(reader, expr));
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        call.args.iter().for_each(|a| self.argument(a));
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        call.args.iter().for_each(|a| self.argument(a));
        let method = call.method.to_string();
        if COMMAND_EXT_METHODS.contains(&method.as_str()) {
            let line = call.method.span().start().line;
            self.report(line, format!("`.{method}()` (CommandExt)"));
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        self.macro_body(&mac.tokens);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = path
            .segments
            .first()
            .map_or(0, |s| s.ident.span().start().line);
        self.path_segments(&segments, line);
        visit::visit_path(self, path);
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs: &[Attribute] = match item {
            syn::ImplItem::Fn(f) => &f.attrs,
            syn::ImplItem::Const(c) => &c.attrs,
            syn::ImplItem::Type(t) => &t.attrs,
            syn::ImplItem::Macro(m) => &m.attrs,
            _ => &[],
        };
        self.under(attrs, |reader| visit::visit_impl_item(reader, item));
    }

    fn visit_trait_item(&mut self, item: &'ast syn::TraitItem) {
        let attrs: &[Attribute] = match item {
            syn::TraitItem::Fn(f) => &f.attrs,
            syn::TraitItem::Const(c) => &c.attrs,
            syn::TraitItem::Type(t) => &t.attrs,
            syn::TraitItem::Macro(m) => &m.attrs,
            _ => &[],
        };
        self.under(attrs, |reader| visit::visit_trait_item(reader, item));
    }

    fn visit_arm(&mut self, arm: &'ast syn::Arm) {
        self.under(&arm.attrs, |reader| visit::visit_arm(reader, arm));
    }

    fn visit_field(&mut self, field: &'ast syn::Field) {
        self.under(&field.attrs, |reader| visit::visit_field(reader, field));
    }

    fn visit_field_value(&mut self, field: &'ast syn::FieldValue) {
        self.under(&field.attrs, |reader| {
            visit::visit_field_value(reader, field)
        });
    }

    fn visit_variant(&mut self, variant: &'ast syn::Variant) {
        self.under(&variant.attrs, |reader| {
            visit::visit_variant(reader, variant)
        });
    }

    fn visit_foreign_item(&mut self, item: &'ast syn::ForeignItem) {
        let attrs: &[Attribute] = match item {
            syn::ForeignItem::Fn(f) => &f.attrs,
            syn::ForeignItem::Static(s) => &s.attrs,
            syn::ForeignItem::Type(t) => &t.attrs,
            syn::ForeignItem::Macro(m) => &m.attrs,
            _ => &[],
        };
        self.under(attrs, |reader| visit::visit_foreign_item(reader, item));
    }
}

/// What `segments` names that only Unix-like systems have, in words.
fn platform_path(segments: &[String], gated_modules: &[String]) -> Option<String> {
    let named: Vec<&str> = segments.iter().map(String::as_str).collect();
    match named.as_slice() {
        ["std" | "core", "os", module, ..] if UNIX_OS_MODULES.contains(module) => {}
        [first, _, ..] if UNIX_CRATES.contains(first) => {}
        [.., "CommandExt"] => {}
        path if path
            .iter()
            .take(path.len().saturating_sub(1))
            .any(|s| gated_modules.iter().any(|g| g == s)) => {}
        _ => return None,
    }
    Some(format!("`{}`", segments.join("::")))
}

/// The paths a `use` tree imports, each with its line.
fn flatten(tree: &UseTree, prefix: &mut Vec<String>, into: &mut Vec<(Vec<String>, usize)>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten(&p.tree, prefix, into);
            prefix.pop();
        }
        UseTree::Name(n) => into.push((with(prefix, &n.ident), n.ident.span().start().line)),
        UseTree::Rename(r) => into.push((with(prefix, &r.ident), r.ident.span().start().line)),
        UseTree::Glob(g) => into.push((with(prefix, "*"), g.star_token.span.start().line)),
        UseTree::Group(g) => g.items.iter().for_each(|t| flatten(t, prefix, into)),
    }
}

fn with(prefix: &[String], last: &(impl ToString + ?Sized)) -> Vec<String> {
    let mut path = prefix.to_vec();
    path.push(last.to_string());
    path
}

/// `#[path = "..."]`.
fn path_attribute(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| match &attr.meta {
        syn::Meta::NameValue(pair) if pair.path.is_ident("path") => match &pair.value {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// The attributes of the expressions that take `#[cfg]` in practice
/// (blocks and calls as statements, and the like).
fn expr_attrs(expr: &Expr) -> &[Attribute] {
    match expr {
        Expr::Block(e) => &e.attrs,
        Expr::Unsafe(e) => &e.attrs,
        Expr::Call(e) => &e.attrs,
        Expr::MethodCall(e) => &e.attrs,
        Expr::Macro(e) => &e.attrs,
        Expr::If(e) => &e.attrs,
        Expr::Match(e) => &e.attrs,
        Expr::Loop(e) => &e.attrs,
        Expr::While(e) => &e.attrs,
        Expr::ForLoop(e) => &e.attrs,
        Expr::Assign(e) => &e.attrs,
        Expr::Path(e) => &e.attrs,
        Expr::Lit(e) => &e.attrs,
        Expr::Struct(e) => &e.attrs,
        Expr::Tuple(e) => &e.attrs,
        Expr::Array(e) => &e.attrs,
        Expr::Closure(e) => &e.attrs,
        Expr::Return(e) => &e.attrs,
        Expr::Try(e) => &e.attrs,
        Expr::Reference(e) => &e.attrs,
        Expr::Paren(e) => &e.attrs,
        _ => &[],
    }
}
