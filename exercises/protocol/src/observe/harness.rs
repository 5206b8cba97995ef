//! [`harness`]: how a harness runs, as libtest runs a test: settings first,
//! then the measurements on a thread named after the test its command line
//! names, then the file.

use super::*;

/// Run a harness: read the grader's settings ([`Observations::new`]), run
/// `measure` as libtest runs a test, on a thread of its own named after the
/// test this process's first argument names (the grader starts a harness as
/// it starts a test), then write the measurements
/// ([`Observations::finish`]). Nothing in the thread student code runs on,
/// its name included, tells it from a test's.
///
/// # Errors
/// As [`Observations::new`] and [`Observations::finish`].
///
/// # Panics
/// When the thread cannot start, and with the panic of `measure` itself
/// (student code's panics are caught where the harness measures them).
pub fn harness(
    exercise: &str,
    measure: impl FnOnce(&mut Observations) + Send,
) -> Result<(), ObserveError> {
    let mut observations = Observations::new(exercise)?;
    let name = test_name(std::env::args().skip(1));
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn_scoped(scope, || measure(&mut observations))
            .expect("the harness's thread starts");
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    });
    observations.finish()
}

/// The test a libtest command line names (`<name> --exact ...`): its first
/// argument that is not an option; `main` when there is none, the name of
/// the thread a program run by hand starts on.
pub(super) fn test_name(mut args: impl Iterator<Item = String>) -> String {
    args.find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "main".to_owned())
}
