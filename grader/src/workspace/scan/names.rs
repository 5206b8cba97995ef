//! Name resolution, as far as the scan needs it: what a path written in
//! some scope names, through the `use` items of its module and blocks
//! (aliases, globs, nested groups, `self`/`super`/`crate`), the modules of
//! the crate, local variables and generic parameters.
//!
//! It answers with the candidates outside the crate (`std::process::exit`),
//! never with the crate's own items: only those can be forbidden. Where
//! Rust would pick one of several candidates (an explicit import and a glob
//! of the same name in different namespaces), it answers with all of them,
//! so a forbidden one is never missed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use syn::UseTree;

pub type ModId = usize;

/// Rust's namespaces, as bits.
pub const TYPE: u8 = 1;
pub const VALUE: u8 = 2;
pub const MACRO: u8 = 4;
pub const ANY: u8 = TYPE | VALUE | MACRO;

/// How deep imports may refer to imports before the scan gives up on a
/// cycle (`mod a { pub use super::b::*; } mod b { pub use super::a::*; }`).
const MAX_DEPTH: usize = 24;

/// One name a `use` (or `extern crate`) item brings into scope.
#[derive(Debug, Clone)]
pub struct Import {
    /// The name it is known by here (`_` for `use Trait as _`); empty for a glob.
    pub name: String,
    /// The path as written, `self`/`super`/`crate` included.
    pub path: Vec<String>,
    pub leading_colon: bool,
    pub glob: bool,
    pub line: usize,
}

/// What one scope (a module, or a block) declares.
#[derive(Debug, Default)]
pub struct Names {
    /// Items defined here, with the namespaces each occupies.
    pub defs: HashMap<String, u8>,
    pub children: HashMap<String, ModId>,
    pub imports: Vec<Import>,
}

impl Names {
    pub fn define(&mut self, name: &str, ns: u8) {
        *self.defs.entry(name.to_owned()).or_default() |= ns;
    }
}

#[derive(Debug)]
pub struct Module {
    pub parent: Option<ModId>,
    pub root: ModId,
    pub names: Names,
}

/// A block, or an item's own scope (its parameters and generics).
#[derive(Debug, Default)]
pub struct Frame {
    /// An item's scope: local variables of enclosing functions are not
    /// visible past it.
    pub boundary: bool,
    pub locals: HashSet<String>,
    pub generics: HashSet<String>,
    pub names: Names,
}

/// Where a path is written: its module and the frames around it.
#[derive(Debug, Default)]
pub struct Scope {
    pub module: ModId,
    pub frames: Vec<Frame>,
}

/// What a path names so far.
#[derive(Debug, Clone, PartialEq)]
enum Place {
    /// Outside the crate: `std::io`.
    Outside(Vec<String>),
    Module(ModId),
}

/// A name looked up in one scope.
#[derive(Debug, Clone)]
enum Found {
    /// The crate's own item, a local variable or a generic: never forbidden.
    Own,
    Places(Vec<Place>),
}

/// How a path is used where it is written.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// The namespace of its last segment.
    pub ns: u8,
    /// A single name there may be a local variable (an expression or pattern).
    pub may_be_local: bool,
}

impl Position {
    pub const TYPE: Position = Position {
        ns: TYPE,
        may_be_local: false,
    };
    pub const ANY: Position = Position {
        ns: ANY,
        may_be_local: false,
    };
    pub const MACRO: Position = Position {
        ns: MACRO,
        may_be_local: false,
    };
}

/// Resolves paths written in one scope.
pub struct Resolver<'a> {
    pub modules: &'a [Module],
    pub scope: &'a Scope,
    /// Lookups already made in this resolution, `None` while under way: each
    /// name is looked up once per scope, so cycles of globs end (a lookup
    /// under way answers nothing) and many globs cost little.
    memo: RefCell<HashMap<Lookup, Option<Found>>>,
}

/// One lookup: a name, in a module's scope (no frames) or in the frames
/// written around the path (as many as there are), in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Lookup {
    module: ModId,
    frames: usize,
    name: String,
    ns: u8,
    may_be_local: bool,
}

impl<'a> Resolver<'a> {
    pub fn new(modules: &'a [Module], scope: &'a Scope) -> Resolver<'a> {
        Resolver {
            modules,
            scope,
            memo: RefCell::default(),
        }
    }

    /// Every path outside the crate that `path` may name.
    pub fn resolve(&self, path: &[String], leading_colon: bool, at: Position) -> Vec<Vec<String>> {
        self.memo.borrow_mut().clear();
        self.places(self.scope, path, leading_colon, at, 0)
            .into_iter()
            .filter_map(|p| match p {
                Place::Outside(path) => Some(path),
                Place::Module(_) => None,
            })
            .collect()
    }

    /// What a glob import's module is, outside the crate.
    pub fn resolve_glob(&self, import: &Import) -> Vec<Vec<String>> {
        self.resolve(&import.path, import.leading_colon, Position::TYPE)
    }

    fn places(
        &self,
        scope: &Scope,
        path: &[String],
        leading_colon: bool,
        at: Position,
        depth: usize,
    ) -> Vec<Place> {
        let Some((first, rest)) = path.split_first() else {
            return Vec::new();
        };
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        let first_at = if rest.is_empty() { at } else { Position::TYPE };
        let mut places = if leading_colon {
            vec![Place::Outside(vec![first.clone()])]
        } else {
            let found = self.memoized(scope, first, first_at, || {
                self.start(scope, first, first_at, depth)
            });
            match found {
                Found::Own => return Vec::new(),
                Found::Places(places) => places,
            }
        };
        for (index, segment) in rest.iter().enumerate() {
            let ns = if index + 1 == rest.len() { at.ns } else { TYPE };
            places = places
                .into_iter()
                .flat_map(|place| self.step(place, segment, ns, depth))
                .collect();
        }
        places
    }

    /// `lookup`'s answer, computed once per resolution.
    fn memoized(
        &self,
        scope: &Scope,
        name: &str,
        at: Position,
        lookup: impl FnOnce() -> Found,
    ) -> Found {
        let key = Lookup {
            module: scope.module,
            frames: scope.frames.len(),
            name: name.to_owned(),
            ns: at.ns,
            may_be_local: at.may_be_local,
        };
        match self.memo.borrow().get(&key) {
            Some(Some(found)) => return found.clone(),
            Some(None) => return Found::Places(Vec::new()),
            None => {}
        }
        self.memo.borrow_mut().insert(key.clone(), None);
        let found = lookup();
        self.memo.borrow_mut().insert(key, Some(found.clone()));
        found
    }

    /// One more segment after `place`.
    fn step(&self, place: Place, segment: &str, ns: u8, depth: usize) -> Vec<Place> {
        match place {
            Place::Outside(mut path) => {
                path.push(segment.to_owned());
                vec![Place::Outside(path)]
            }
            Place::Module(id) if segment == "super" => self.modules[id]
                .parent
                .map(Place::Module)
                .into_iter()
                .collect(),
            Place::Module(id) if segment == "self" => vec![Place::Module(id)],
            Place::Module(id) => {
                let scope = Scope {
                    module: id,
                    frames: Vec::new(),
                };
                let at = Position {
                    ns,
                    may_be_local: false,
                };
                let found = self.memoized(&scope, segment, at, || {
                    self.in_names(&scope, &self.modules[id].names, segment, ns, depth + 1)
                });
                match found {
                    Found::Own => Vec::new(),
                    Found::Places(places) => places,
                }
            }
        }
    }

    /// The first segment of a path, looked up from where it is written.
    fn start(&self, scope: &Scope, name: &str, at: Position, depth: usize) -> Found {
        let module = &self.modules[scope.module];
        match name {
            "crate" => return Found::Places(vec![Place::Module(module.root)]),
            "self" => return Found::Places(vec![Place::Module(scope.module)]),
            "super" => {
                return Found::Places(module.parent.map(Place::Module).into_iter().collect())
            }
            "Self" => return Found::Own,
            _ => {}
        }
        let mut places = Vec::new();
        let mut locals_visible = at.may_be_local && at.ns & VALUE != 0;
        for frame in scope.frames.iter().rev() {
            if locals_visible && frame.locals.contains(name) {
                return Found::Own;
            }
            if at.ns & TYPE != 0 && frame.generics.contains(name) {
                return Found::Own;
            }
            match self.in_names(scope, &frame.names, name, at.ns, depth) {
                Found::Own => return Found::Own,
                Found::Places(found) => places.extend(found),
            }
            locals_visible &= !frame.boundary;
        }
        let module_scope = Scope {
            module: scope.module,
            frames: Vec::new(),
        };
        match self.in_names(&module_scope, &module.names, name, at.ns, depth) {
            Found::Own => return Found::Own,
            Found::Places(found) => places.extend(found),
        }
        // A crate (`std`, `libc`) or the prelude: kept beside any glob's
        // candidate, since a glob's module may not have the name at all.
        places.push(Place::Outside(vec![name.to_owned()]));
        Found::Places(places)
    }

    /// `name` in one scope's declarations (a module's or a block's); their
    /// imports are resolved from `scope`.
    fn in_names(&self, scope: &Scope, names: &Names, name: &str, ns: u8, depth: usize) -> Found {
        if depth > MAX_DEPTH {
            return Found::Places(Vec::new());
        }
        let mut places = Vec::new();
        if ns & TYPE != 0 {
            if let Some(&child) = names.children.get(name) {
                places.push(Place::Module(child));
            }
        }
        if places.is_empty()
            && names
                .defs
                .get(name)
                .is_some_and(|defined| defined & ns != 0)
        {
            return Found::Own;
        }
        for import in names.imports.iter().filter(|i| !i.glob && i.name == name) {
            places.extend(self.places(
                scope,
                &import.path,
                import.leading_colon,
                Position::ANY,
                depth + 1,
            ));
        }
        for glob in names.imports.iter().filter(|i| i.glob) {
            for place in self.places(
                scope,
                &glob.path,
                glob.leading_colon,
                Position::TYPE,
                depth + 1,
            ) {
                places.extend(self.step(place, name, ns, depth + 1));
            }
        }
        Found::Places(places)
    }
}

/// Every name a `use` tree brings in, flattened: `use a::{b as c, d::*}` is
/// `c` = `a::b` and a glob of `a::d`.
pub fn flatten_use(
    tree: &UseTree,
    leading_colon: bool,
    prefix: &mut Vec<String>,
    out: &mut Vec<Import>,
) {
    let import = |name: String, path: Vec<String>, glob: bool, line: usize| Import {
        name,
        path,
        leading_colon,
        glob,
        line,
    };
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, leading_colon, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let line = n.ident.span().start().line;
            if n.ident == "self" {
                let name = prefix.last().cloned().unwrap_or_default();
                out.push(import(name, prefix.clone(), false, line));
            } else {
                let mut path = prefix.clone();
                path.push(n.ident.to_string());
                out.push(import(n.ident.to_string(), path, false, line));
            }
        }
        UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            let line = r.ident.span().start().line;
            out.push(import(r.rename.to_string(), path, false, line));
        }
        UseTree::Glob(g) => {
            let line = g.star_token.span.start().line;
            out.push(import(String::new(), prefix.clone(), true, line));
        }
        UseTree::Group(g) => {
            for item in &g.items {
                flatten_use(item, leading_colon, prefix, out);
            }
        }
    }
}
