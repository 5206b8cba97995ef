//! The tests of exercise 1. Run them with `cargo test -p ex01`.
//!
//! Every test names the README section it checks; read that section when a
//! test fails.

use ex01::{do_science, map_lazy, map_serial, science_loop, science_map};
use std::cell::Cell;

/// 0, 1, ..., 9 and their squares: the lesson's example.
const INPUTS: [u64; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const SQUARES: [u64; 10] = [0, 1, 4, 9, 16, 25, 36, 49, 64, 81];

// README: "The shape of the problem"

#[test]
fn do_science_squares() {
    assert_eq!(do_science(0), 0);
    assert_eq!(do_science(3), 9);
    assert_eq!(do_science(12), 144);
    assert_eq!(do_science(1_000_000), 1_000_000_000_000);
}

#[test]
fn science_loop_squares_every_input_in_order() {
    assert_eq!(science_loop(&INPUTS), SQUARES);
    assert_eq!(science_loop(&[7, 1, 3]), [49, 1, 9]);
}

#[test]
fn science_loop_of_nothing_is_empty() {
    assert_eq!(science_loop(&[]), Vec::<u64>::new());
    assert_eq!(science_loop(&[5]), [25], "one input gives one result");
}

// README: "From a loop to a map"

#[test]
fn science_map_squares_every_input_in_order() {
    assert_eq!(science_map(&INPUTS), SQUARES);
    assert_eq!(science_map(&[7, 1, 3]), [49, 1, 9]);
}

#[test]
fn science_map_agrees_with_science_loop() {
    let inputs: Vec<u64> = (0..1000).rev().collect();
    assert_eq!(science_map(&inputs), science_loop(&inputs));
    assert_eq!(science_map(&[]), Vec::<u64>::new());
}

// README: "A map for any function"

#[test]
fn map_serial_applies_any_function_in_order() {
    let words = ["map", "filter", "fold"];
    assert_eq!(map_serial(&words, |w| w.len()), [3, 6, 4]);
    assert_eq!(
        map_serial(&INPUTS, |&x| do_science(x)),
        SQUARES,
        "map_serial with do_science is science_map"
    );
}

#[test]
fn map_serial_builds_results_of_a_new_type() {
    let got: Vec<String> = map_serial(&[1.5, -2.0], |x| format!("{x:+}"));
    assert_eq!(got, ["+1.5", "-2"]);
}

#[test]
fn map_serial_calls_the_function_once_per_item() {
    let calls = Cell::new(0);
    let got = map_serial(&INPUTS, |&x| {
        calls.set(calls.get() + 1);
        x + 1
    });
    assert_eq!(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(calls.get(), INPUTS.len());
    let none: Vec<u64> = map_serial(&[], |&x: &u64| x);
    assert!(none.is_empty(), "no items, no results");
}

// README: "Lazy iterators"

#[test]
fn map_lazy_computes_nothing_until_consumed() {
    let calls = Cell::new(0);
    let lazy = map_lazy(&INPUTS, |&x| {
        calls.set(calls.get() + 1);
        do_science(x)
    });
    assert_eq!(
        calls.get(),
        0,
        "map_lazy ran the function before anyone asked for a result"
    );
    let results: Vec<u64> = lazy.collect();
    assert_eq!(results, SQUARES);
    assert_eq!(calls.get(), INPUTS.len(), "one call per item once consumed");
}

#[test]
fn map_lazy_computes_only_what_is_asked_for() {
    let calls = Cell::new(0);
    let first_three: Vec<u64> = map_lazy(&INPUTS, |&x| {
        calls.set(calls.get() + 1);
        x * 10
    })
    .take(3)
    .collect();
    assert_eq!(first_three, [0, 10, 20]);
    assert_eq!(calls.get(), 3, "taking 3 results must compute exactly 3");
}

#[test]
fn map_lazy_accepts_a_closure_that_keeps_state() {
    // FnMut: the closure may change what it captured, here a running total.
    let mut total = 0;
    let running: Vec<u64> = map_lazy(&[1, 2, 3, 4], move |&x| {
        total += x;
        total
    })
    .collect();
    assert_eq!(running, [1, 3, 6, 10]);
}
