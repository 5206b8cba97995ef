//! Given, complete: the errors of `process_crunch`. You do not need to change
//! this file; the grader always uses this copy of it.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in [`process_crunch`](crate::process_crunch).
/// It is complete: your code returns these variants, it does not need new
/// ones.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// `n_procs` was 0: nobody would crunch anything.
    #[error("process_crunch needs at least one worker process, but n_procs is 0")]
    NoWorkers,
    /// The worker program could not be started: it does not exist, or it is
    /// not an executable file.
    #[error("cannot start the worker program {}: {source}", .path.display())]
    Spawn { path: PathBuf, source: io::Error },
    /// A worker closed its end of the pipes (it exited, crashed or was
    /// killed) while it still owed an answer for `items[item]`.
    #[error("worker process {pid} stopped before answering item {item}")]
    WorkerDied { pid: u32, item: usize },
    /// A worker's answer to `items[item]` is not a line `<result> <pid>`.
    #[error(
        "worker process {pid} answered item {item} with {line:?}, which is not `<result> <pid>`"
    )]
    BadAnswer { pid: u32, item: usize, line: String },
    /// Reading from or writing to a worker failed for another reason.
    #[error("cannot talk to worker process {pid}: {source}")]
    Io { pid: u32, source: io::Error },
}
