//! Exercise 1: a serial map. Read `README.md` first.

pub fn do_science(x: u64) -> u64 {
    todo!("ex01: square x (README.md, section 1)")
}

pub fn science_loop(inputs: &[u64]) -> Vec<u64> {
    todo!("ex01: a for loop that pushes do_science of each input (README.md, section 1)")
}

pub fn science_map(inputs: &[u64]) -> Vec<u64> {
    todo!("ex01: the same with .iter().map(..).collect() (README.md, section 2)")
}

pub fn map_serial<T, U>(items: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    todo!("ex01: a generic map (README.md, section 3)")
}

pub fn map_lazy<'a, T, U>(items: &'a [T], f: impl FnMut(&T) -> U + 'a) -> impl Iterator<Item = U> + 'a {
    let _ = f;
    items.iter().map(|_| -> U { todo!("ex01: return the iterator without consuming it (README.md, section 4)") })
}
