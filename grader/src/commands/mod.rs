//! One module per subcommand. Only this layer sees the command line
//! ([`crate::cli`]); everything below takes library types.

pub mod batch;
pub mod check;
pub mod doctor;
pub mod grade;
pub mod gradescope;
pub mod instructor;
pub mod slurm;
pub mod student;
pub mod watch;
