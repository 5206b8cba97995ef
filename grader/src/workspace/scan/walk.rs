//! The second pass: every path, literal, attribute and macro of a crate's
//! files, read in its scope. A path is flagged when what it resolves to is
//! forbidden; local variables, parameters, generics and the crate's own
//! items shadow what they should, and fields, methods and comments are not
//! paths at all.

use super::names::{Frame, Position, Resolver, Scope, TYPE, VALUE};
use super::package::{declare, item_key, Package, Place, MAX_INCLUDE_DEPTH};
use super::rules::{self, Allowed, Rule};
use std::collections::HashSet;
use std::path::Path;
use syn::visit::{self, Visit};
use syn::{Block, Expr, Item, ItemMod, Pat, Stmt};

/// Reads one crate's files, from its root down its modules.
pub struct Walk<'p> {
    pub pkg: &'p mut Package,
    pub scope: Scope,
    pub place: Place,
    /// The crate is a program of its own (`src/main.rs`, `src/bin/**`).
    pub program: bool,
    pub include_depth: usize,
}

impl Walk<'_> {
    /// Read the crate whose root module is `root`.
    pub fn crate_root(pkg: &mut Package, root: usize, program: bool) {
        let Some(place) = pkg.file_of_module.get(&root).cloned() else {
            return;
        };
        let Some(parsed) = pkg.parse(&place.file) else {
            return;
        };
        if pkg.is_given(&place.file) {
            return;
        }
        let mut walk = Walk {
            pkg,
            scope: Scope {
                module: root,
                frames: Vec::new(),
            },
            place,
            program,
            include_depth: 0,
        };
        walk.visit_file(&parsed);
    }

    pub fn allowed(&self) -> Allowed {
        Allowed {
            starts_processes: self.pkg.allowed.starts_processes,
            program: self.program,
        }
    }

    pub fn flag(&mut self, line: usize, rule: Rule, detail: String) {
        let file = self.place.file.clone();
        self.pkg.flag(&file, line, rule, detail);
    }

    /// Every path outside the crate that `path` may name from here.
    pub fn resolve(
        &self,
        segments: &[String],
        leading_colon: bool,
        at: Position,
    ) -> Vec<Vec<String>> {
        Resolver::new(&self.pkg.modules, &self.scope).resolve(segments, leading_colon, at)
    }

    /// Flag `segments` (written at `line`) if it names a forbidden item.
    pub fn check(&mut self, segments: &[String], leading_colon: bool, at: Position, line: usize) {
        let candidates = self.resolve(segments, leading_colon, at);
        let allowed = self.allowed();
        let hit = candidates
            .iter()
            .find_map(|c| rules::forbidden(c, allowed).map(|rule| (rule, c.join("::"))));
        if let Some((rule, named)) = hit {
            let written = format!(
                "{}{}",
                if leading_colon { "::" } else { "" },
                segments.join("::")
            );
            let detail = if written == named {
                format!("`{written}`")
            } else {
                format!("`{written}` is {named}")
            };
            self.flag(line, rule, detail);
        }
    }

    fn check_path(&mut self, path: &syn::Path, at: Position) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.check(&segments, path.leading_colon.is_some(), at, path_line(path));
    }

    /// A string's value, written at `line`.
    pub fn literal(&mut self, value: &str, line: usize) {
        if let Some(rule) = rules::literal(value) {
            let shown: String = value.chars().take(60).collect();
            self.flag(line, rule, format!("{shown:?}"));
        }
    }

    fn push(&mut self, boundary: bool) {
        self.scope.frames.push(Frame {
            boundary,
            ..Frame::default()
        });
    }

    fn pop(&mut self) {
        self.scope.frames.pop();
    }

    /// Bind the names `pat` introduces in the innermost frame.
    fn bind(&mut self, pat: &Pat) {
        if let Some(frame) = self.scope.frames.last_mut() {
            bindings(pat, &mut frame.locals);
        }
    }

    /// A block's statements, in a frame of their own: items and imports
    /// are visible in the whole block, local variables from their `let` on.
    pub fn statements(&mut self, stmts: &[Stmt]) {
        self.push(false);
        for stmt in stmts {
            if let Stmt::Item(item) = stmt {
                self.declare_in_block(item);
            }
        }
        for stmt in stmts {
            self.visit_stmt(stmt);
        }
        self.pop();
    }

    fn declare_in_block(&mut self, item: &Item) {
        let module = match item {
            Item::Mod(m) => {
                let place = self.place.clone();
                Some((
                    m.ident.to_string(),
                    self.pkg.open_module(self.scope.module, m, &place, 0),
                ))
            }
            _ => None,
        };
        let Some(frame) = self.scope.frames.last_mut() else {
            return;
        };
        declare(&mut frame.names, item);
        if let Some((name, id)) = module {
            frame.names.children.insert(name, id);
        }
    }

    /// The items of a module's file or of an included file, at `place`.
    pub fn items_at(&mut self, items: &[Item], place: Place) {
        if self.pkg.is_given(&place.file) {
            return;
        }
        let outer = std::mem::replace(&mut self.place, place);
        for item in items {
            self.visit_item(item);
        }
        self.place = outer;
    }

    fn enter_module(&mut self, item: &ItemMod) {
        let Some(&child) = self.pkg.module_of_item.get(&item_key(item)) else {
            return;
        };
        let outer = std::mem::replace(
            &mut self.scope,
            Scope {
                module: child,
                frames: Vec::new(),
            },
        );
        if let Some((_, items)) = &item.content {
            for item in items {
                self.visit_item(item);
            }
        } else if let Some(place) = self.pkg.file_of_module.get(&child).cloned() {
            if let Some(parsed) = self.pkg.parse(&place.file) {
                self.items_at(&parsed.items, place);
            }
        }
        self.scope = outer;
    }

    fn attribute_path_value(&mut self, value: &Expr, line: usize) {
        match value {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => self.path_attribute(&s.value(), line),
            _ => self.flag(
                line,
                Rule::OutsideSrc,
                "#[path] with no plain string".to_owned(),
            ),
        }
    }

    /// `#[path = "..."]`, relative to the file it is written in.
    pub fn path_attribute(&mut self, value: &str, line: usize) {
        let dir = self
            .place
            .file
            .parent()
            .unwrap_or(Path::new(""))
            .to_path_buf();
        if rules::leaves_src(value, &dir, &self.pkg.src_dir) {
            self.flag(line, Rule::OutsideSrc, format!("#[path = {value:?}]"));
        }
    }
}

/// The line a path starts on.
pub fn path_line(path: &syn::Path) -> usize {
    match (&path.leading_colon, path.segments.first()) {
        (Some(colon), _) => colon.spans[0].start().line,
        (None, Some(segment)) => segment.ident.span().start().line,
        (None, None) => 1,
    }
}

/// Whether `item` is `#[cfg(test)]`: compiled only into the crate's own
/// unit tests, never into what grading builds (the instructor's tests and
/// harness link the library built without `cfg(test)`).
fn only_for_unit_tests(item: &Item) -> bool {
    let attrs = match item {
        Item::Mod(m) => &m.attrs,
        Item::Fn(f) => &f.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Use(u) => &u.attrs,
        _ => return false,
    };
    attrs.iter().any(|attr| match &attr.meta {
        syn::Meta::List(list) => {
            list.path.is_ident("cfg") && list.tokens.to_string().trim() == "test"
        }
        _ => false,
    })
}

/// The names a pattern binds.
fn bindings(pat: &Pat, into: &mut HashSet<String>) {
    match pat {
        Pat::Ident(p) => {
            into.insert(p.ident.to_string());
            if let Some((_, sub)) = &p.subpat {
                bindings(sub, into);
            }
        }
        Pat::Or(p) => p.cases.iter().for_each(|c| bindings(c, into)),
        Pat::Paren(p) => bindings(&p.pat, into),
        Pat::Reference(p) => bindings(&p.pat, into),
        Pat::Slice(p) => p.elems.iter().for_each(|e| bindings(e, into)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| bindings(&f.pat, into)),
        Pat::Tuple(p) => p.elems.iter().for_each(|e| bindings(e, into)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| bindings(e, into)),
        Pat::Type(p) => bindings(&p.pat, into),
        Pat::Guard(p) => bindings(&p.pat, into),
        _ => {}
    }
}

impl<'ast> Visit<'ast> for Walk<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        if only_for_unit_tests(item) {
            return;
        }
        self.push(true);
        visit::visit_item(self, item);
        self.pop();
    }

    fn visit_item_mod(&mut self, item: &'ast ItemMod) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        self.enter_module(item);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut imports = Vec::new();
        let leading = item.leading_colon.is_some();
        super::names::flatten_use(&item.tree, leading, &mut Vec::new(), &mut imports);
        for import in imports {
            if import.glob {
                let resolver = Resolver::new(&self.pkg.modules, &self.scope);
                let modules = resolver.resolve_glob(&import);
                if modules
                    .iter()
                    .any(|m| rules::COMMAND_EXT_MODULES.iter().any(|c| m == c))
                {
                    self.pkg.command_ext_imported = true;
                }
                continue;
            }
            let candidates = self.resolve(&import.path, import.leading_colon, Position::ANY);
            if candidates.iter().any(|c| rules::is_command_ext(c)) {
                self.pkg.command_ext_imported = true;
            }
            self.check(
                &import.path,
                import.leading_colon,
                Position::ANY,
                import.line,
            );
        }
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        let line = item.abi.extern_token.span.start().line;
        self.flag(line, Rule::Extern, String::new());
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        if item.ident.is_some() && item.mac.path.is_ident("macro_rules") {
            self.macro_rules(&item.mac);
        } else {
            self.visit_macro(&item.mac);
        }
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.push(true);
        visit::visit_impl_item_fn(self, item);
        self.pop();
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        self.push(true);
        visit::visit_trait_item_fn(self, item);
        self.pop();
    }

    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        visit::visit_signature(self, sig);
        for input in &sig.inputs {
            if let syn::FnArg::Typed(typed) = input {
                self.bind(&typed.pat);
            }
        }
    }

    fn visit_generics(&mut self, generics: &'ast syn::Generics) {
        if let Some(frame) = self.scope.frames.last_mut() {
            for param in &generics.params {
                match param {
                    syn::GenericParam::Type(t) => {
                        frame.generics.insert(t.ident.to_string());
                    }
                    syn::GenericParam::Const(c) => {
                        frame.locals.insert(c.ident.to_string());
                    }
                    syn::GenericParam::Lifetime(_) => {}
                }
            }
        }
        visit::visit_generics(self, generics);
    }

    fn visit_block(&mut self, block: &'ast Block) {
        self.statements(&block.stmts);
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        for attr in &local.attrs {
            self.visit_attribute(attr);
        }
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
        self.bind(&local.pat);
        self.visit_pat(&local.pat);
    }

    fn visit_expr_let(&mut self, expr: &'ast syn::ExprLet) {
        self.visit_expr(&expr.expr);
        self.bind(&expr.pat);
        self.visit_pat(&expr.pat);
    }

    fn visit_expr_if(&mut self, expr: &'ast syn::ExprIf) {
        self.push(false);
        self.visit_expr(&expr.cond);
        self.visit_block(&expr.then_branch);
        self.pop();
        if let Some((_, otherwise)) = &expr.else_branch {
            self.visit_expr(otherwise);
        }
    }

    fn visit_expr_while(&mut self, expr: &'ast syn::ExprWhile) {
        self.push(false);
        self.visit_expr(&expr.cond);
        self.visit_block(&expr.body);
        self.pop();
    }

    fn visit_expr_for_loop(&mut self, expr: &'ast syn::ExprForLoop) {
        self.visit_expr(&expr.expr);
        self.push(false);
        self.bind(&expr.pat);
        self.visit_pat(&expr.pat);
        self.visit_block(&expr.body);
        self.pop();
    }

    fn visit_arm(&mut self, arm: &'ast syn::Arm) {
        self.push(false);
        self.bind(&arm.pat);
        visit::visit_arm(self, arm);
        self.pop();
    }

    fn visit_expr_closure(&mut self, expr: &'ast syn::ExprClosure) {
        self.push(false);
        for input in &expr.inputs {
            self.bind(input);
        }
        visit::visit_expr_closure(self, expr);
        self.pop();
    }

    fn visit_expr_path(&mut self, expr: &'ast syn::ExprPath) {
        let single = expr.path.segments.len() == 1 && expr.qself.is_none();
        let at = Position {
            ns: VALUE,
            may_be_local: single,
        };
        self.qualified_path(expr.qself.as_ref(), &expr.path, at);
    }

    fn visit_type_path(&mut self, ty: &'ast syn::TypePath) {
        self.qualified_path(ty.qself.as_ref(), &ty.path, Position::TYPE);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let at = Position {
            ns: TYPE | VALUE,
            may_be_local: false,
        };
        self.check_path(path, at);
        visit::visit_path(self, path);
    }

    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}

    fn visit_expr_method_call(&mut self, expr: &'ast syn::ExprMethodCall) {
        if expr.method == "exec" && !self.pkg.is_given(&self.place.file) {
            let line = expr.method.span().start().line;
            self.pkg.exec_calls.push((self.place.file.clone(), line));
        }
        visit::visit_expr_method_call(self, expr);
    }

    fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
        self.literal(&lit.value(), lit.span().start().line);
    }

    fn visit_lit_byte_str(&mut self, lit: &'ast syn::LitByteStr) {
        self.literal(
            &String::from_utf8_lossy(&lit.value()),
            lit.span().start().line,
        );
    }

    fn visit_lit_cstr(&mut self, lit: &'ast syn::LitCStr) {
        let value = lit.value();
        self.literal(&value.to_string_lossy(), lit.span().start().line);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        let line = attr.pound_token.span.start().line;
        match &attr.meta {
            syn::Meta::Path(path) => self.linker_attribute(path, line),
            syn::Meta::List(list) => {
                self.linker_attribute(&list.path, line);
                self.tokens(list.tokens.clone(), true);
            }
            syn::Meta::NameValue(nv) => {
                let is_doc_text = nv.path.is_ident("doc")
                    && matches!(&nv.value, Expr::Lit(l) if matches!(l.lit, syn::Lit::Str(_)));
                if is_doc_text {
                    return;
                }
                self.linker_attribute(&nv.path, line);
                if nv.path.is_ident("path") {
                    self.attribute_path_value(&nv.value, line);
                }
                self.visit_expr(&nv.value);
            }
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.macro_call(mac);
    }

    fn visit_stmt_macro(&mut self, stmt: &'ast syn::StmtMacro) {
        for attr in &stmt.attrs {
            self.visit_attribute(attr);
        }
        if stmt.mac.path.is_ident("macro_rules") {
            self.macro_rules(&stmt.mac);
        } else {
            self.macro_call(&stmt.mac);
        }
    }
}

impl Walk<'_> {
    /// A path with an optional `<T as Trait>::` in front: `<T>::item` is
    /// the type's own, the rest resolves as written.
    fn qualified_path(&mut self, qself: Option<&syn::QSelf>, path: &syn::Path, at: Position) {
        if let Some(qself) = qself {
            self.visit_type(&qself.ty);
        }
        if qself.is_none_or(|q| q.position > 0) {
            self.check_path(path, at);
        }
        for segment in &path.segments {
            self.visit_path_arguments(&segment.arguments);
        }
    }

    fn linker_attribute(&mut self, path: &syn::Path, line: usize) {
        const LINKER: [&str; 3] = ["link_section", "no_mangle", "export_name"];
        if LINKER.iter().any(|name| path.is_ident(name)) {
            self.flag(line, Rule::Linker, format!("#[{}]", path_text(path)));
        }
    }

    /// Whether the file being read may still include another.
    pub fn may_include(&self) -> bool {
        self.include_depth < MAX_INCLUDE_DEPTH
    }
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}
