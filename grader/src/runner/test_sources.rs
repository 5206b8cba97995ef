//! The instructor's test files and the course's stubs read as tokens
//! (`proc-macro2`, the lexer `syn` uses): which tests a file defines, in the
//! order the lesson takes them, and which `todo!()` each one reaches first.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// One function of a file: its name, whether it is a test libtest runs
/// (`#[test]` and not `#[ignore]`), and its body.
#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub test: bool,
    pub body: TokenStream,
}

/// The functions of a test file, in the file's order, those in inline
/// modules named by their path (`chunks::each_item_once`, as libtest names
/// them). `None` when the file does not lex, or holds a `#[test]` this
/// reading cannot place (in a macro, or a module in another file): then
/// only running the tests tells which there are.
pub fn test_file_functions(source: &str) -> Option<Vec<Function>> {
    let mut functions = Vec::new();
    functions_in(TokenStream::from_str(source).ok()?, "", &mut functions)?;
    Some(functions)
}

fn functions_in(stream: TokenStream, prefix: &str, functions: &mut Vec<Function>) -> Option<()> {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut attributes: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let word = match &tokens[i] {
            TokenTree::Ident(id) => id.to_string(),
            _ => String::new(),
        };
        let name = match tokens.get(i + 1) {
            Some(TokenTree::Ident(name)) => Some(name.to_string()),
            _ => None,
        };
        match (&tokens[i], word.as_str(), name) {
            (TokenTree::Punct(p), _, _) if p.as_char() == '#' => {
                if let Some(TokenTree::Group(g)) = tokens.get(i + 1) {
                    attributes.push(g.stream().to_string());
                    i += 2;
                    continue;
                }
            }
            (_, "mod", Some(name)) => {
                // `mod name;`: a module in another file, not followed here.
                let TokenTree::Group(body) = tokens.get(i + 2).filter(|t| is_brace(t))? else {
                    return None;
                };
                functions_in(body.stream(), &format!("{prefix}{name}::"), functions)?;
                attributes.clear();
                i += 3;
                continue;
            }
            // Not `fn(u64) -> u64`, a type.
            (_, "fn", Some(name)) => {
                let body_at = (i + 2..tokens.len()).find(|&j| is_brace(&tokens[j]))?;
                let TokenTree::Group(body) = &tokens[body_at] else {
                    return None;
                };
                let test = attributes.iter().any(|a| a == "test")
                    && !attributes.iter().any(|a| a.starts_with("ignore"));
                functions.push(Function {
                    name: format!("{prefix}{name}"),
                    test,
                    body: body.stream(),
                });
                attributes.clear();
                i = body_at + 1;
                continue;
            }
            (TokenTree::Group(g), _, _) if mentions_test_attribute(&g.stream()) => return None,
            (TokenTree::Punct(p), _, _) if p.as_char() == ';' => attributes.clear(),
            (TokenTree::Group(g), _, _) if g.delimiter() == Delimiter::Brace => attributes.clear(),
            _ => {}
        }
        i += 1;
    }
    Some(())
}

fn is_brace(token: &TokenTree) -> bool {
    matches!(token, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace)
}

/// Whether `stream` holds `#[test]` anywhere (a test in a module).
fn mentions_test_attribute(stream: &TokenStream) -> bool {
    let tokens: Vec<TokenTree> = stream.clone().into_iter().collect();
    tokens.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Punct(p) if p.as_char() == '#' => matches!(
            tokens.get(i + 1),
            Some(TokenTree::Group(g)) if g.stream().to_string() == "test"
        ),
        TokenTree::Group(g) => mentions_test_attribute(&g.stream()),
        _ => false,
    })
}

/// Every function of a source file at any depth (in `impl` blocks and
/// modules too) whose body panics with `todo!()`, with the message it
/// panics with: `not yet implemented: <its words>`.
pub fn todo_functions(source: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    if let Ok(stream) = TokenStream::from_str(source) {
        collect_todos(stream, &mut found);
    }
    found
}

fn collect_todos(stream: TokenStream, found: &mut BTreeMap<String, String>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        if let TokenTree::Ident(id) = &tokens[i] {
            if *id == "fn" {
                if let Some(TokenTree::Ident(name)) = tokens.get(i + 1) {
                    if let Some(at) = (i + 2..tokens.len()).find(|&j| is_brace(&tokens[j])) {
                        if let TokenTree::Group(body) = &tokens[at] {
                            if let Some(message) = first_todo(&body.stream()) {
                                found.entry(name.to_string()).or_insert(message);
                            }
                            collect_todos(body.stream(), found);
                        }
                        i = at + 1;
                        continue;
                    }
                }
            }
        }
        if let TokenTree::Group(g) = &tokens[i] {
            collect_todos(g.stream(), found);
        }
        i += 1;
    }
}

/// The message of the first `todo!(...)` in `stream`, as it panics.
fn first_todo(stream: &TokenStream) -> Option<String> {
    let tokens: Vec<TokenTree> = stream.clone().into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(id) if *id == "todo" => {
                let bang =
                    matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                let Some(TokenTree::Group(args)) = tokens.get(i + 2).filter(|_| bang) else {
                    continue;
                };
                let words = args.stream().into_iter().find_map(|t| match t {
                    TokenTree::Literal(l) => string_literal(&l.to_string()),
                    _ => None,
                });
                return Some(match words {
                    Some(words) => format!("not yet implemented: {words}"),
                    None => "not yet implemented".to_owned(),
                });
            }
            TokenTree::Group(g) => {
                if let Some(message) = first_todo(&g.stream()) {
                    return Some(message);
                }
            }
            _ => {}
        }
    }
    None
}

/// The text of a string literal token (`"..."` or `r#"..."#`).
fn string_literal(token: &str) -> Option<String> {
    if let Some(raw) = token.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let inner = raw.get(hashes + 1..raw.len().checked_sub(hashes + 1)?)?;
        return Some(inner.to_owned());
    }
    let inner = token.strip_prefix('"')?.strip_suffix('"')?;
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => text.push('\n'),
            Some('t') => text.push('\t'),
            Some(other) => text.push(other),
            None => {}
        }
    }
    Some(text)
}

/// The `todo!()` message a test reaches first, reading its body as it
/// runs: a call's arguments before the call (but a closure passed along
/// runs inside the callee, so after it), the test file's own helper
/// functions followed, and a stub passed as a value (`threaded_crunch as
/// fn(..)`) counted as reached. `None` when it reaches no function in
/// `todos` (it may start a stub program, say).
pub fn first_stub_reached(
    test: &Function,
    helpers: &[Function],
    todos: &BTreeMap<String, String>,
) -> Option<String> {
    let mut reader = Reader {
        helpers,
        todos,
        visited: BTreeSet::new(),
    };
    let tokens: Vec<TokenTree> = test.body.clone().into_iter().collect();
    reader.first_in(&tokens, true)
}

/// Follows a test's calls.
struct Reader<'a> {
    helpers: &'a [Function],
    todos: &'a BTreeMap<String, String>,
    /// Helpers already followed: recursion ends.
    visited: BTreeSet<String>,
}

impl Reader<'_> {
    /// The first stub `tokens` reach; `values`: a stub named without a call
    /// counts too.
    fn first_in(&mut self, tokens: &[TokenTree], values: bool) -> Option<String> {
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Ident(id) => {
                    let name = id.to_string();
                    let method = i > 0 && is_punct(&tokens[i - 1], '.');
                    if let Some(args_at) = call_args(&tokens[i + 1..]).map(|at| i + 1 + at) {
                        let TokenTree::Group(args) = &tokens[args_at] else {
                            unreachable!("call_args finds a group")
                        };
                        if let Some(message) = self.call(&name, method, &args.stream()) {
                            return Some(message);
                        }
                        i = args_at + 1;
                        continue;
                    }
                    if values && is_function_value(tokens, i) {
                        if let Some(message) = self.todos.get(&name) {
                            return Some(message.clone());
                        }
                    }
                }
                TokenTree::Group(g) => {
                    let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                    if let Some(message) = self.first_in(&inner, values) {
                        return Some(message);
                    }
                }
                TokenTree::Punct(_) | TokenTree::Literal(_) => {}
            }
            i += 1;
        }
        None
    }

    /// A call of `name` with `args`: the arguments up to the first closure,
    /// the callee, then the closures.
    fn call(&mut self, name: &str, method: bool, args: &TokenStream) -> Option<String> {
        let args: Vec<TokenTree> = args.clone().into_iter().collect();
        let closure = args
            .iter()
            .position(|t| is_punct(t, '|'))
            .unwrap_or(args.len());
        if let Some(message) = self.first_in(&args[..closure], false) {
            return Some(message);
        }
        if let Some(message) = self.todos.get(name) {
            return Some(message.clone());
        }
        let helper = self
            .helpers
            .iter()
            .find(|f| !f.test && f.name.rsplit("::").next() == Some(name))
            .filter(|_| !method && self.visited.insert(name.to_owned()));
        if let Some(helper) = helper {
            let body: Vec<TokenTree> = helper.body.clone().into_iter().collect();
            if let Some(message) = self.first_in(&body, true) {
                return Some(message);
            }
        }
        self.first_in(&args[closure..], true)
    }
}

/// Whether the name at `tokens[i]` stands for a function given as a value
/// (`f as fn(..)`, an item of a tuple or array), not a local variable of
/// the same name (`let sweep = ..`, `&sweep`).
fn is_function_value(tokens: &[TokenTree], i: usize) -> bool {
    let before = i.checked_sub(1).map(|b| &tokens[b]);
    let binds_or_borrows = before.is_some_and(|t| {
        is_punct(t, '.')
            || is_punct(t, '&')
            || matches!(t, TokenTree::Ident(id) if id == "let" || id == "mut")
    });
    let after = tokens.get(i + 1);
    let as_value = match after {
        None => true,
        Some(TokenTree::Ident(id)) => id == "as",
        Some(t) => is_punct(t, ','),
    };
    as_value && !binds_or_borrows
}

fn is_punct(token: &TokenTree, c: char) -> bool {
    matches!(token, TokenTree::Punct(p) if p.as_char() == c)
}

/// Where the arguments of a call start in the tokens after an identifier:
/// `(..)` right after it, or after a turbofish `::<..>`. `None`: no call.
fn call_args(after: &[TokenTree]) -> Option<usize> {
    let is_args =
        |t: &TokenTree| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis);
    match after.first()? {
        t if is_args(t) => Some(0),
        t if is_punct(t, ':') && after.get(2).is_some_and(|t| is_punct(t, '<')) => {
            let end = after.iter().skip(3).position(|t| is_punct(t, '>'))? + 3;
            after.get(end + 1).filter(|t| is_args(t)).map(|_| end + 1)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTS: &str = r#"
use ex::{first, second, lazy};

fn helper(x: u64) -> u64 {
    second(x)
}

#[test]
fn b_calls_second_through_a_helper() {
    assert_eq!(helper(3), 9);
}

#[test]
#[ignore]
fn ignored() {}

// A comment between the attribute and the function.
#[test]
fn a_calls_first_then_second() {
    let items: Vec<u64> = (0..3).collect();
    assert_eq!(first(&items), second::<u64>(1));
}

#[test]
fn d_evaluates_the_arguments_first() {
    assert_eq!(second(first(&[1])), 1);
}

#[test]
fn e_runs_a_closure_inside_the_callee() {
    assert_eq!(second_of(&[1], |x| first(x)), 1);
}

#[test]
fn g_runs_a_closure_given_to_a_function_of_others() {
    assert_eq!(std::thread::scope(|_| first(&[1])), 1);
}

#[test]
fn f_calls_a_stub_passed_as_a_value() {
    let second = 2;
    assert_eq!(&second, &2);
    for f in [first as fn(&[u64]) -> u64] {
        assert_eq!(f(&[2]).len(), 4);
    }
}

#[test]
fn c_calls_nothing_of_the_stubs() {
    assert!(std::process::Command::new("worker").status().is_err());
}
"#;

    const STUBS: &str = r##"
/// The first.
pub fn first(items: &[u64]) -> u64 {
    todo!("ex first: see README.md, section \"One\"")
}
pub fn second<T>(x: T) -> T { todo!() }
pub fn lazy() -> impl Iterator<Item = u64> {
    (0..1).map(|_| todo!(r#"ex lazy: "Lazy""#))
}
pub fn given() -> u64 { 7 }
pub fn second_of<T>(items: &[T], f: impl Fn(&[T]) -> u64) -> u64 { todo!("ex second_of") }
impl Thing { fn method(&self) { todo!("ex method") } }
"##;

    #[test]
    fn the_tests_come_in_the_files_order_without_the_ignored_ones() {
        let functions = test_file_functions(TESTS).unwrap();
        let tests: Vec<&str> = functions
            .iter()
            .filter(|f| f.test)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            tests,
            [
                "b_calls_second_through_a_helper",
                "a_calls_first_then_second",
                "d_evaluates_the_arguments_first",
                "e_runs_a_closure_inside_the_callee",
                "g_runs_a_closure_given_to_a_function_of_others",
                "f_calls_a_stub_passed_as_a_value",
                "c_calls_nothing_of_the_stubs"
            ]
        );
    }

    #[test]
    fn a_test_in_an_inline_module_is_named_by_its_path() {
        let nested = "mod inner {\n    fn helper() {}\n    #[test]\n    fn inside() {}\n}\n#[test]\nfn outside() {}\n";
        let names: Vec<(String, bool)> = test_file_functions(nested)
            .unwrap()
            .into_iter()
            .map(|f| (f.name, f.test))
            .collect();
        assert_eq!(
            names,
            [
                ("inner::helper".to_owned(), false),
                ("inner::inside".to_owned(), true),
                ("outside".to_owned(), true)
            ]
        );
    }

    #[test]
    fn a_test_in_a_macro_or_another_file_cannot_be_placed() {
        assert!(test_file_functions("mod elsewhere;\n#[test]\nfn seen() {}\n").is_none());
        let in_a_macro = "m! {\n#[test]\nfn hidden() {}\n}\n#[test]\nfn seen() {}\n";
        assert!(test_file_functions(in_a_macro).is_none());
        let typed = "type F = fn(u64) -> u64;\n#[test]\nfn seen() {}\n";
        assert_eq!(test_file_functions(typed).unwrap().len(), 1);
        assert!(test_file_functions("fn unfinished(").is_none());
    }

    #[test]
    fn the_stubs_panic_with_their_todo_words() {
        let todos = todo_functions(STUBS);
        assert_eq!(
            todos["first"],
            "not yet implemented: ex first: see README.md, section \"One\""
        );
        assert_eq!(todos["second"], "not yet implemented");
        assert_eq!(todos["lazy"], "not yet implemented: ex lazy: \"Lazy\"");
        assert_eq!(todos["method"], "not yet implemented: ex method");
        assert!(!todos.contains_key("given"));
    }

    #[test]
    fn each_test_reaches_the_first_stub_it_calls() {
        let functions = test_file_functions(TESTS).unwrap();
        let todos = todo_functions(STUBS);
        let reached: Vec<Option<String>> = functions
            .iter()
            .filter(|f| f.test)
            .map(|t| first_stub_reached(t, &functions, &todos))
            .collect();
        assert_eq!(
            reached,
            [
                Some("not yet implemented".to_owned()),
                Some(todos["first"].clone()),
                Some(todos["first"].clone()),
                Some(todos["second_of"].clone()),
                Some(todos["first"].clone()),
                Some(todos["first"].clone()),
                None
            ]
        );
    }
}
