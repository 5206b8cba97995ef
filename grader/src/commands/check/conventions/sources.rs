//! The sources' conventions: `starts_processes` agreeing with the reference
//! solution, and each `todo!()` of the stubs naming a README heading.

use super::ExerciseFiles;
use proc_macro2::{TokenStream, TokenTree};
use std::str::FromStr;

/// `starts_processes` is on exactly when the reference solution starts a
/// process: names `Command` (or `CommandExt`) in its sources.
pub(super) fn starts_processes(ex: &ExerciseFiles) -> Vec<String> {
    let first_command = ex.solution.iter().find_map(|source| {
        let line = names_command(&source.text)?;
        Some(format!("{}:{line}", source.path))
    });
    let id = &ex.id;
    match (ex.starts_processes, first_command) {
        (false, Some(at)) => vec![format!(
            "{id}: the reference solution starts processes ({at}: std::process::Command), but \
             course.yaml's {id} has no `starts_processes: true`; add it, or the scan flags \
             the Command of every student who does the same"
        )],
        (true, None) => vec![format!(
            "{id}: course.yaml says `starts_processes: true`, but the reference solution starts \
             no process (no std::process::Command in its src/ or the given files); remove it, so \
             the scan flags Command in students' code of {id}"
        )],
        _ => Vec::new(),
    }
}

/// The first line with `Command` or `CommandExt` as a name, read as tokens
/// (comments and strings are not names). The student scan resolves each
/// path to tell std's from a name of one's own; the instructor's reference
/// solutions give no other type that name, so the name is enough here.
pub(super) fn names_command(text: &str) -> Option<usize> {
    fn first(stream: TokenStream) -> Option<usize> {
        stream.into_iter().find_map(|tree| match tree {
            TokenTree::Ident(ident) if ident == "Command" || ident == "CommandExt" => {
                Some(ident.span().start().line)
            }
            TokenTree::Group(group) => first(group.stream()),
            _ => None,
        })
    }
    first(TokenStream::from_str(text).ok()?)
}

/// Each `todo!()` of the stubs says `exNN name: see README.md, section
/// "…"` with a heading of the exercise's README.
pub(super) fn todos(ex: &ExerciseFiles) -> Vec<String> {
    let headings = readme_headings(ex.readme.text.as_deref().unwrap_or_default());
    let mut problems = Vec::new();
    for source in &ex.stubs {
        for (line, message) in todo_messages(&source.text) {
            let at = format!("{}:{line}", source.path);
            match message.as_deref().and_then(|m| named_section(m, &ex.id)) {
                None => problems.push(format!(
                    "{at}: a todo!() that names no section; write \
                     `todo!(\"{} <function>: see README.md, section \\\"<heading>\\\"\")` \
                     with the heading of README.md that teaches it",
                    ex.id
                )),
                Some(section) if !headings.iter().any(|h| h == section) => problems.push(format!(
                    "{at}: todo!() names section \"{section}\", which {} does not have; \
                         name one of its headings, or add that heading",
                    ex.readme.path
                )),
                Some(_) => {}
            }
        }
    }
    problems
}

/// The section a `todo!()` message names: `"<id> <name>: see README.md,
/// section \"<heading>\""`.
pub(super) fn named_section<'a>(message: &'a str, id: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(id)?.strip_prefix(' ')?;
    let (name, tail) = rest.split_once(": see README.md, section \"")?;
    let heading = tail.strip_suffix('"')?;
    let named = !name.is_empty() && !name.contains(char::is_whitespace);
    (named && !heading.is_empty()).then_some(heading)
}

/// The headings of a Markdown text, outside code blocks.
pub(super) fn readme_headings(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut headings = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let marks = line.chars().take_while(|&c| c == '#').count();
        if in_code || !(1..=6).contains(&marks) {
            continue;
        }
        if let Some(heading) = line[marks..].strip_prefix(' ') {
            headings.push(heading.trim().trim_end_matches('#').trim_end().to_owned());
        }
    }
    headings
}

/// Every `todo!` of a source text: its line, and its message when the
/// first argument is a string literal.
pub(super) fn todo_messages(text: &str) -> Vec<(usize, Option<String>)> {
    // A file the lexer rejects does not compile; the stubs' build says so.
    let Ok(stream) = TokenStream::from_str(text) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    collect_todos(stream, &mut found);
    found
}

fn collect_todos(stream: TokenStream, found: &mut Vec<(usize, Option<String>)>) {
    let trees: Vec<TokenTree> = stream.into_iter().collect();
    for (index, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) if ident == "todo" => {
                let bang =
                    matches!(trees.get(index + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if let (true, Some(TokenTree::Group(args))) = (bang, trees.get(index + 2)) {
                    let message = match args.stream().into_iter().next() {
                        Some(TokenTree::Literal(literal)) => string_value(&literal.to_string()),
                        _ => None,
                    };
                    found.push((ident.span().start().line, message));
                }
            }
            TokenTree::Group(group) => collect_todos(group.stream(), found),
            _ => {}
        }
    }
}

/// The value of a string literal as written in source (`"…"` with
/// escapes, or raw `r#"…"#`); `None` for any other literal.
fn string_value(literal: &str) -> Option<String> {
    if let Some(raw) = literal.strip_prefix('r') {
        let hashes = raw.chars().take_while(|&c| c == '#').count();
        let body = raw[hashes..].strip_prefix('"')?;
        return Some(
            body.strip_suffix(&format!("\"{}", "#".repeat(hashes)))?
                .to_owned(),
        );
    }
    let body = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut value = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => value.push('\n'),
            Some('t') => value.push('\t'),
            Some(other) => value.push(other),
            None => {}
        }
    }
    Some(value)
}
