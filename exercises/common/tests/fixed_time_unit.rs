//! A fixed time unit stays fixed (a process of its own: fixing it is for good).

use std::time::Duration;

#[test]
fn a_fixed_time_unit_cannot_be_changed_by_anyone_else() {
    let grader = Duration::from_millis(50);
    common::fix_time_unit(grader);
    // Setting the same length is harmless.
    common::set_time_unit(grader);
    let rescaled = std::panic::catch_unwind(|| common::set_time_unit(grader / 2));
    let message = rescaled.expect_err("a shorter unit while measuring");
    let message = (message.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| message.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(message.contains("only the grader sets it"), "{message}");
    assert_eq!(common::time_unit(), grader);
    assert!((common::units(grader * 3) - 3.0).abs() < 1e-9);
}
