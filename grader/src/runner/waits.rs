//! How long a test waits on purpose before it fails with its own message.
//!
//! Some tests are written to fail slowly and say why: exercise 2's
//! rendezvous waits up to ten seconds for threads that a wrong pool never
//! runs at once, then fails with "spawn all the workers before joining any of
//! them". The reference passes such a test in milliseconds, so a limit
//! derived from the reference alone would kill the test before it speaks.
//!
//! The wait is read from the instructor's test file, not from a list of
//! names: a test may wait as long as the `Duration` literals it reaches add
//! up to (`Duration::from_secs(10)` and its `from_millis`, `from_micros`,
//! `from_nanos`, `from_secs_f64`, `from_secs_f32` kin, with a literal
//! argument), where a test reaches its own body and, by name, every function,
//! method and constant of the file that it or they mention (macro arguments
//! included). Reaching by name over-counts a little (two methods called
//! `new` are both counted); that only lengthens a limit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};

/// The wait of each `#[test]` function of `source` that waits at all, by
/// function name. Empty when the file does not parse.
pub fn declared_waits(source: &str) -> BTreeMap<String, Duration> {
    let Ok(file) = syn::parse_file(source) else {
        return BTreeMap::new();
    };
    let mut items = Items::default();
    items.visit_file(&file);
    let mut waits = BTreeMap::new();
    for test in &items.tests {
        let wait = items.reached_from(test);
        if !wait.is_zero() {
            waits.insert(test.clone(), wait);
        }
    }
    waits
}

/// What one function, method or constant mentions and waits.
#[derive(Debug, Default, Clone)]
struct Body {
    names: BTreeSet<String>,
    wait: Duration,
}

/// The file's named items with a body, and its tests.
#[derive(Debug, Default)]
struct Items {
    /// Every body under a name (several items may share one).
    bodies: BTreeMap<String, Vec<Body>>,
    tests: Vec<String>,
}

impl Items {
    fn add(&mut self, name: &syn::Ident, body: Body) {
        self.bodies.entry(name.to_string()).or_default().push(body);
    }

    /// The waits of every body reachable from `test`, each name once.
    fn reached_from(&self, test: &str) -> Duration {
        let mut seen = BTreeSet::from([test.to_owned()]);
        let mut todo = vec![test.to_owned()];
        let mut wait = Duration::ZERO;
        while let Some(name) = todo.pop() {
            for body in self.bodies.get(&name).into_iter().flatten() {
                wait += body.wait;
                for next in &body.names {
                    if seen.insert(next.clone()) {
                        todo.push(next.clone());
                    }
                }
            }
        }
        wait
    }
}

impl<'ast> Visit<'ast> for Items {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if item.attrs.iter().any(|a| a.path().is_ident("test")) {
            self.tests.push(item.sig.ident.to_string());
        }
        self.add(&item.sig.ident, body_of(|m| m.visit_block(&item.block)));
        visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.add(&item.sig.ident, body_of(|m| m.visit_block(&item.block)));
        visit::visit_impl_item_fn(self, item);
    }

    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        self.add(&item.ident, body_of(|m| m.visit_expr(&item.expr)));
    }

    fn visit_impl_item_const(&mut self, item: &'ast syn::ImplItemConst) {
        self.add(&item.ident, body_of(|m| m.visit_expr(&item.expr)));
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        self.add(&item.ident, body_of(|m| m.visit_expr(&item.expr)));
    }
}

/// What `visit` finds in one body.
fn body_of(visit: impl FnOnce(&mut Mentions)) -> Body {
    let mut mentions = Mentions::default();
    visit(&mut mentions);
    mentions.0
}

/// The names a body mentions and the durations it spells.
#[derive(Default)]
struct Mentions(Body);

impl<'ast> Visit<'ast> for Mentions {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Some(wait) = literal_duration(call) {
            self.0.wait += wait;
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if let Some(last) = path.path.segments.last() {
            self.0.names.insert(last.ident.to_string());
        }
        visit::visit_expr_path(self, path);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        self.0.names.insert(call.method.to_string());
        visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // assert!, format!, vec!, ...: their arguments are expressions.
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = mac.parse_body_with(parser) {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }

    // Nested items are visited by `Items` on their own.
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// `Duration::from_secs(10)` and its kin with a literal argument.
fn literal_duration(call: &syn::ExprCall) -> Option<Duration> {
    let syn::Expr::Path(path) = &*call.func else {
        return None;
    };
    let mut segments = path.path.segments.iter().rev();
    let (function, ty) = (segments.next()?, segments.next()?);
    if ty.ident != "Duration" || call.args.len() != 1 {
        return None;
    }
    let syn::Expr::Lit(syn::ExprLit { lit, .. }) = call.args.first()? else {
        return None;
    };
    let number = match lit {
        syn::Lit::Int(int) => int.base10_parse::<u64>().ok()? as f64,
        syn::Lit::Float(float) => float.base10_parse::<f64>().ok()?,
        _ => return None,
    };
    let seconds = match function.ident.to_string().as_str() {
        "from_secs" | "from_secs_f64" | "from_secs_f32" => number,
        "from_millis" => number / 1e3,
        "from_micros" => number / 1e6,
        "from_nanos" => number / 1e9,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of ex02's test file: a test that waits through a helper's
    /// method and an associated constant, and tests that do not wait.
    const TESTS: &str = r#"
use std::time::Duration;

const TEST_UNIT: Duration = Duration::from_millis(20);

fn traced() { common::set_time_unit(TEST_UNIT); }

#[test]
fn pool_map_runs_exactly_n_threads_at_once() {
    let rendezvous = Rendezvous::new(2);
    pool_map(&items, 2, |&i| { rendezvous.arrive(); i });
    assert!(rendezvous.everyone_came(), "spawn all the workers first");
}

#[test]
fn two_threads_hand_out_queries_in_order() {
    assert_eq!(traced().lanes(), expected(), "lanes");
}

#[test]
fn the_sweep_program_answers() {
    Command::cargo_bin("ex04").unwrap().timeout(Duration::from_secs(60)).assert();
}

#[test]
fn pool_map_of_nothing_is_empty() {
    assert!(pool_map(&[], 3, |&x: &u32| x).is_empty());
}

struct Rendezvous;

impl Rendezvous {
    const PATIENCE: Duration = Duration::from_secs(10);

    fn new(n: usize) -> Self { Rendezvous }

    fn arrive(&self) {
        let _ = condvar.wait_timeout_while(state, Self::PATIENCE, |s| s.waiting());
    }
}
"#;

    #[test]
    fn a_test_waits_as_long_as_the_durations_it_reaches() {
        let waits = declared_waits(TESTS);
        assert_eq!(
            waits.get("pool_map_runs_exactly_n_threads_at_once"),
            Some(&Duration::from_secs(10)),
            "through arrive() and Self::PATIENCE: {waits:?}"
        );
        assert_eq!(
            waits.get("two_threads_hand_out_queries_in_order"),
            Some(&Duration::from_millis(20)),
            "through a helper called in a macro's arguments: {waits:?}"
        );
        assert_eq!(
            waits.get("the_sweep_program_answers"),
            Some(&Duration::from_secs(60)),
            "{waits:?}"
        );
        assert_eq!(waits.get("pool_map_of_nothing_is_empty"), None);
        assert_eq!(waits.len(), 3, "{waits:?}");
    }

    #[test]
    fn only_literal_durations_count_and_a_file_that_does_not_parse_waits_nothing() {
        let source = r#"
#[test]
fn computed() {
    std::thread::sleep(std::time::Duration::from_millis(2 * (8 - i)));
    let _ = Duration::from_secs_f64(0.5);
    let _ = Duration::from_micros(250);
}
"#;
        assert_eq!(
            declared_waits(source).get("computed"),
            Some(&Duration::from_micros(500_250))
        );
        assert!(declared_waits("fn (").is_empty());
    }
}

#[cfg(test)]
mod course_tests {
    use super::*;

    /// What the course's own test files wait by design.
    fn waits_of(file: &str) -> BTreeMap<String, Duration> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        declared_waits(&std::fs::read_to_string(root.join(file)).unwrap())
    }

    #[test]
    fn the_lessons_slow_failures_wait_ten_seconds() {
        let ex02 = waits_of("exercises/ex02-threaded-query/tests/ex02.rs");
        eprintln!("ex02: {ex02:?}");
        let rendezvous = ex02["pool_map_runs_exactly_n_threads_at_once"];
        assert!(rendezvous >= Duration::from_secs(10), "{rendezvous:?}");
        let ex04 = waits_of("exercises/ex04-speedup-sweep/tests/ex04.rs");
        eprintln!("ex04: {ex04:?}");
        assert!(
            ex04.values().any(|w| *w >= Duration::from_secs(10)),
            "{ex04:?}"
        );
    }
}
