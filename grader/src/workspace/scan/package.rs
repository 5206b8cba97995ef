//! One exercise's `src`: its files, its crates (the library, each program)
//! and the modules of each, found as cargo and rustc find them: roots, then
//! `mod` items (files beside them, `#[path]`), then item-level `include!`.
//! This is the first pass: it records what each module declares, so that a
//! path in any file can be resolved through the others.

use super::names::{flatten_use, Import, ModId, Module, Names, MACRO, TYPE, VALUE};
use super::rules::{self, Allowed, Rule};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use syn::{Fields, ForeignItem, Item, ItemMod};

/// One flag, before it is written for a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub file: PathBuf,
    pub line: usize,
    pub rule: Rule,
    /// What exactly, e.g. "`quit` is std::process::exit".
    pub detail: String,
}

/// Where the items being read are written: their file, where their `mod x;`
/// files live, and what `#[path]` is relative to.
#[derive(Debug, Clone)]
pub struct Place {
    pub file: PathBuf,
    pub mod_dir: PathBuf,
    pub path_base: PathBuf,
}

impl Place {
    /// A file that opens a module of its own: a crate root, a `mod.rs`, or a
    /// file named by `#[path]`.
    pub fn mod_rs(file: &Path) -> Place {
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        Place {
            file: file.to_path_buf(),
            mod_dir: dir.clone(),
            path_base: dir,
        }
    }

    /// `src/a.rs`, whose modules live in `src/a/`.
    fn named(file: &Path) -> Place {
        let dir = file.parent().unwrap_or(Path::new(""));
        let stem = file.file_stem().unwrap_or_default();
        Place {
            file: file.to_path_buf(),
            mod_dir: dir.join(stem),
            path_base: dir.to_path_buf(),
        }
    }
}

/// The exercise's sources and what the passes learn about them.
pub struct Package {
    pub src_dir: PathBuf,
    pub given: Vec<PathBuf>,
    pub allowed: Allowed,
    pub modules: Vec<Module>,
    /// Every `.rs` file under `src`: its text, or None when not UTF-8.
    sources: BTreeMap<PathBuf, Option<String>>,
    parsed: HashMap<PathBuf, Rc<syn::File>>,
    /// Files compiled as part of a crate: roots, modules, included files.
    pub reached: HashSet<PathBuf>,
    /// The module each `mod` item opens, by the item's address.
    pub module_of_item: HashMap<usize, ModId>,
    /// The file of each module that has one, with where its items live.
    pub file_of_module: HashMap<ModId, Place>,
    pub found: Vec<Found>,
    /// Each `.exec()` call, flagged if `CommandExt` is imported anywhere.
    pub exec_calls: Vec<(PathBuf, usize)>,
    pub command_ext_imported: bool,
}

/// The address of a `mod` item, stable while its file is parsed.
pub fn item_key(item: &ItemMod) -> usize {
    item as *const ItemMod as usize
}

impl Package {
    pub fn new(src_dir: &Path, given: &[PathBuf], allowed: Allowed) -> Package {
        let sources = walkdir::WalkDir::new(src_dir)
            .sort_by_file_name()
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs"))
            .map(|e| {
                let text = std::fs::read(e.path())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                (e.path().to_path_buf(), text)
            })
            .collect();
        Package {
            src_dir: src_dir.to_path_buf(),
            given: given.to_vec(),
            allowed,
            modules: Vec::new(),
            sources,
            parsed: HashMap::new(),
            reached: HashSet::new(),
            module_of_item: HashMap::new(),
            file_of_module: HashMap::new(),
            found: Vec::new(),
            exec_calls: Vec::new(),
            command_ext_imported: false,
        }
    }

    /// The `.rs` files under `src`, in order.
    pub fn source_files(&self) -> Vec<PathBuf> {
        self.sources.keys().cloned().collect()
    }

    pub fn is_given(&self, file: &Path) -> bool {
        self.given.iter().any(|g| g == file)
    }

    pub fn flag(&mut self, file: &Path, line: usize, rule: Rule, detail: String) {
        if !self.is_given(file) {
            self.found.push(Found {
                file: file.to_path_buf(),
                line,
                rule,
                detail,
            });
        }
    }

    /// The text of a source file under `src`, if it is one.
    fn text(&self, file: &Path) -> Option<Result<String, ()>> {
        self.sources.get(file).map(|t| t.clone().ok_or(()))
    }

    /// The bytes of any file under `src` (what `include!` and
    /// `include_str!` read, whatever its name), at most [`MAX_INCLUDED`].
    pub fn read(&self, file: &Path) -> Option<Vec<u8>> {
        use std::io::Read;
        if !file.starts_with(&self.src_dir) {
            return None;
        }
        let mut bytes = Vec::new();
        std::fs::File::open(file)
            .and_then(|f| f.take(MAX_INCLUDED).read_to_end(&mut bytes))
            .ok()?;
        Some(bytes)
    }

    /// `file` parsed as a whole file, or None; nothing is flagged (an
    /// included file may be an expression).
    pub fn parse_quietly(&mut self, file: &Path, text: &str) -> Option<Rc<syn::File>> {
        if let Some(parsed) = self.parsed.get(file) {
            return Some(parsed.clone());
        }
        if rules::too_deep(text).is_some() {
            return None;
        }
        let parsed = Rc::new(syn::parse_file(text).ok()?);
        self.parsed.insert(file.to_path_buf(), parsed.clone());
        Some(parsed)
    }

    /// Whether `file` is UTF-8 text that parses as a whole file.
    pub fn parses_alone(&self, file: &Path) -> bool {
        matches!(self.text(file), Some(Ok(text)) if rules::too_deep(&text).is_none() && syn::parse_file(&text).is_ok())
    }

    /// `file` parsed as a whole file; a file compiled but unreadable is
    /// flagged (the compiler rejects it too), a missing one is not (the
    /// compiler says so, or a flag about the path does).
    pub fn parse(&mut self, file: &Path) -> Option<Rc<syn::File>> {
        self.reached.insert(file.to_path_buf());
        if let Some(parsed) = self.parsed.get(file) {
            return Some(parsed.clone());
        }
        let text = match self.text(file)? {
            Ok(text) => text,
            Err(()) => {
                self.flag(file, 1, Rule::NotUtf8, String::new());
                return None;
            }
        };
        if let Some(line) = rules::too_deep(&text) {
            self.flag(file, line, Rule::TooDeep, String::new());
            return None;
        }
        match syn::parse_file(&text) {
            Ok(parsed) => {
                let parsed = Rc::new(parsed);
                self.parsed.insert(file.to_path_buf(), parsed.clone());
                Some(parsed)
            }
            Err(error) => {
                let line = error.span().start().line.max(1);
                self.flag(file, line, Rule::Unparsable, error.to_string());
                None
            }
        }
    }

    /// A new crate whose root is `file`; None when it does not parse.
    pub fn add_crate(&mut self, file: &Path) -> Option<ModId> {
        let parsed = self.parse(file)?;
        let root = self.modules.len();
        self.modules.push(Module {
            parent: None,
            root,
            names: Names::default(),
        });
        let place = Place::mod_rs(file);
        self.file_of_module.insert(root, place.clone());
        self.collect(root, &parsed.items, &place, 0);
        Some(root)
    }

    /// A module inside `parent`, declared by `item`.
    pub fn add_module(&mut self, parent: ModId, item: &ItemMod) -> ModId {
        let id = self.modules.len();
        let root = self.modules[parent].root;
        self.modules.push(Module {
            parent: Some(parent),
            root,
            names: Names::default(),
        });
        self.module_of_item.insert(item_key(item), id);
        id
    }

    /// Record what `items` declare in module `m`, following `mod` items
    /// into their files and `include!` into the included file.
    fn collect(&mut self, m: ModId, items: &[Item], place: &Place, depth: usize) {
        for item in items {
            declare(&mut self.modules[m].names, item);
            match item {
                Item::Mod(module) => self.collect_module(m, module, place, depth),
                Item::Macro(mac) if mac.ident.is_none() => {
                    let Some(included) = self.included(&mac.mac, &place.file) else {
                        continue;
                    };
                    let text = self
                        .read(&included)
                        .map(|b| String::from_utf8_lossy(&b).into_owned());
                    if depth < MAX_INCLUDE_DEPTH {
                        self.reached.insert(included.clone());
                        let parsed = text.and_then(|t| self.parse_quietly(&included, &t));
                        if let Some(parsed) = parsed {
                            let inner = Place {
                                file: included,
                                ..place.clone()
                            };
                            self.collect(m, &parsed.items, &inner, depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn collect_module(&mut self, parent: ModId, item: &ItemMod, place: &Place, depth: usize) {
        let child = self.open_module(parent, item, place, depth);
        let name = item.ident.to_string();
        self.modules[parent].names.children.insert(name, child);
    }

    /// The module `item` opens inside `parent`, with what it declares; the
    /// caller names it in its scope (a module's, or a block's).
    pub fn open_module(
        &mut self,
        parent: ModId,
        item: &ItemMod,
        place: &Place,
        depth: usize,
    ) -> ModId {
        let child = self.add_module(parent, item);
        let name = item.ident.to_string();
        if let Some((_, items)) = &item.content {
            let dir = match path_attribute(item) {
                Some(path) => place.path_base.join(path),
                None => place.mod_dir.join(&name),
            };
            let inner = Place {
                file: place.file.clone(),
                mod_dir: dir.clone(),
                path_base: dir,
            };
            self.collect(child, items, &inner, depth);
            return child;
        }
        let Some(file_place) = self.module_file(item, place) else {
            return child;
        };
        self.file_of_module.insert(child, file_place.clone());
        if let Some(parsed) = self.parse(&file_place.file) {
            self.collect(child, &parsed.items, &file_place, depth);
        }
        child
    }

    /// The file of `mod name;` written at `place`, as rustc finds it.
    fn module_file(&self, item: &ItemMod, place: &Place) -> Option<Place> {
        if let Some(path) = path_attribute(item) {
            let file = rules::joined(&place.path_base, &path);
            return self
                .sources
                .contains_key(&file)
                .then(|| Place::mod_rs(&file));
        }
        let name = item.ident.to_string();
        let beside = place.mod_dir.join(format!("{name}.rs"));
        let inside = place.mod_dir.join(&name).join("mod.rs");
        if self.sources.contains_key(&beside) {
            Some(Place::named(&beside))
        } else if self.sources.contains_key(&inside) {
            Some(Place::mod_rs(&inside))
        } else {
            None
        }
    }

    /// The file an `include!("...")` written in `file` includes, when it
    /// names one under `src` by a plain literal.
    pub fn included(&self, mac: &syn::Macro, file: &Path) -> Option<PathBuf> {
        let name = mac.path.segments.last()?.ident.to_string();
        if name != "include" {
            return None;
        }
        let literal: syn::LitStr = mac.parse_body_with(literal_argument).ok()?;
        let dir = file.parent()?;
        let included = rules::joined(dir, &literal.value());
        (!rules::leaves_src(&literal.value(), dir, &self.src_dir)).then_some(included)
    }
}

/// The most of an included file the scan reads (a file under `src` is
/// the student's; the compiler reads all of it).
const MAX_INCLUDED: u64 = 16 << 20;

/// How deep `include!` may nest (a file that includes itself stops here).
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// A macro's one string literal argument (a trailing comma allowed).
pub fn literal_argument(input: syn::parse::ParseStream) -> syn::Result<syn::LitStr> {
    let literal = input.parse()?;
    let _: Option<syn::Token![,]> = input.parse()?;
    Ok(literal)
}

/// The value of a `#[path = "..."]` attribute on a module.
pub fn path_attribute(item: &ItemMod) -> Option<String> {
    item.attrs.iter().find_map(|attr| match &attr.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// Record the names `item` defines or imports into `names` (not the
/// modules it opens: the caller makes those).
pub fn declare(names: &mut Names, item: &Item) {
    let mut define = |ident: &syn::Ident, ns: u8| names.define(&ident.to_string(), ns);
    match item {
        Item::Fn(f) => define(&f.sig.ident, VALUE),
        Item::Const(c) => define(&c.ident, VALUE),
        Item::Static(s) => define(&s.ident, VALUE),
        Item::Struct(s) => {
            let value = if matches!(s.fields, Fields::Named(_)) {
                0
            } else {
                VALUE
            };
            define(&s.ident, TYPE | value);
        }
        Item::Enum(e) => define(&e.ident, TYPE),
        Item::Trait(t) => define(&t.ident, TYPE),
        Item::TraitAlias(t) => define(&t.ident, TYPE),
        Item::Type(t) => define(&t.ident, TYPE),
        Item::Union(u) => define(&u.ident, TYPE),
        Item::Mod(m) => define(&m.ident, TYPE),
        Item::Macro(m) => {
            if let Some(ident) = &m.ident {
                define(ident, MACRO);
            }
        }
        Item::ForeignMod(f) => {
            for item in &f.items {
                match item {
                    ForeignItem::Fn(f) => define(&f.sig.ident, VALUE),
                    ForeignItem::Static(s) => define(&s.ident, VALUE),
                    ForeignItem::Type(t) => define(&t.ident, TYPE),
                    _ => {}
                }
            }
        }
        Item::Use(u) => flatten_use(
            &u.tree,
            u.leading_colon.is_some(),
            &mut Vec::new(),
            &mut names.imports,
        ),
        Item::ExternCrate(c) => names.imports.push(extern_crate(c)),
        _ => {}
    }
}

/// `extern crate std as s;` as an import of `s`.
fn extern_crate(c: &syn::ItemExternCrate) -> Import {
    let name = c
        .rename
        .as_ref()
        .map_or(&c.ident, |(_, rename)| rename)
        .to_string();
    let is_self = c.ident == "self";
    Import {
        name,
        path: vec![if is_self {
            "crate".to_owned()
        } else {
            c.ident.to_string()
        }],
        leading_colon: !is_self,
        glob: false,
        line: c.ident.span().start().line,
    }
}
