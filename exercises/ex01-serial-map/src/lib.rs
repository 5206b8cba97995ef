//! Exercise 1: a serial map. Read `README.md` first, then replace each
//! `todo!()` below; `cargo test -p ex01` tells you what is still missing.

// Delete this line once every function uses its arguments.
#![allow(unused_variables)]

/// The stand-in for real science: square `x`.
pub fn do_science(x: u64) -> u64 {
    todo!("ex01 do_science: see README.md, section \"The shape of the problem\"")
}

/// Apply [`do_science`] to every input with an explicit `for` loop and `push`.
pub fn science_loop(inputs: &[u64]) -> Vec<u64> {
    todo!("ex01 science_loop: see README.md, section \"The shape of the problem\"")
}

/// The same as [`science_loop`], as one iterator expression (`map` + `collect`).
pub fn science_map(inputs: &[u64]) -> Vec<u64> {
    todo!("ex01 science_map: see README.md, section \"From a loop to a map\"")
}

/// Apply any function `f` to every item; results in input order.
pub fn map_serial<T, U>(items: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    todo!("ex01 map_serial: see README.md, section \"A map for any function\"")
}

/// Like [`map_serial`], but computes nothing until the caller consumes the
/// iterator it returns.
pub fn map_lazy<'a, T, U>(
    items: &'a [T],
    f: impl FnMut(&T) -> U + 'a,
) -> impl Iterator<Item = U> + 'a {
    // Placeholder so that this compiles: an iterator whose every item is
    // `todo!()`. Replace the whole body.
    drop(f);
    items
        .iter()
        .map(|_| -> U { todo!("ex01 map_lazy: see README.md, section \"Lazy iterators\"") })
}
