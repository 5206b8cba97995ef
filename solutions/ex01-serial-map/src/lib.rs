//! Exercise 1: a serial map. The lesson is `exercises/ex01-serial-map/README.md`.

/// The stand-in for real science (a simulation, a database query, a download):
/// square `x`.
pub fn do_science(x: u64) -> u64 {
    x * x
}

/// Apply [`do_science`] to every input with an explicit loop.
pub fn science_loop(inputs: &[u64]) -> Vec<u64> {
    // We know how many results there will be: reserve once instead of letting
    // `push` grow the vector step by step. `collect` does the same on its own.
    let mut results = Vec::with_capacity(inputs.len());
    for &x in inputs {
        results.push(do_science(x));
    }
    results
}

/// The same as [`science_loop`], as one iterator expression.
pub fn science_map(inputs: &[u64]) -> Vec<u64> {
    inputs.iter().map(|&x| do_science(x)).collect()
}

/// Apply any function to every item, results in input order.
pub fn map_serial<T, U>(items: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    items.iter().map(f).collect()
}

/// A map that does no work yet: the caller decides when (and whether) each
/// item is computed, by consuming the iterator.
pub fn map_lazy<'a, T, U>(
    items: &'a [T],
    f: impl FnMut(&T) -> U + 'a,
) -> impl Iterator<Item = U> + 'a {
    // No `collect` here: returning the adapter itself is what keeps it lazy.
    items.iter().map(f)
}
