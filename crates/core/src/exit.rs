//! Process exit codes shared by every command (see README "Exit codes").

/// Exit status of an `adasval` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Everything checked passed.
    Pass = 0,
    /// A gate, requirement or regression check failed, or the run is incomplete.
    GateFailed = 1,
    /// Bad usage or unreadable / invalid input.
    BadInput = 2,
    /// Integrity failure: a hash does not match its lock or manifest entry.
    Integrity = 3,
    /// A backend or the environment it needs is unavailable.
    Unavailable = 4,
}

impl Status {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Implemented by every library error so the binary can map it to an exit status.
pub trait Classify {
    fn status(&self) -> Status;
}
