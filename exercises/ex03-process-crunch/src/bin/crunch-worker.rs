//! The worker program of `process_crunch`: reads one number per line from
//! stdin and answers each with `<result> <pid>` on stdout.
//!
//! Read README.md, "4. The worker program", for the exact rules. Try it with
//! `cargo run -p ex03 --bin crunch-worker`: type numbers, end with Ctrl-D.

fn main() {
    todo!("ex03 crunch-worker: see README.md, section \"4. The worker program\"")
}
