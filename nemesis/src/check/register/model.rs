//! What the search works on: register values, commands, and one key's operations as
//! intervals on the history's timeline.

/// A register value: `None` until the key is first written.
pub(super) type Val = Option<i64>;

/// A point on the timeline: the time in the high half, the history index in the low half,
/// so that equal times are ordered as the history orders them.
pub(super) type Point = u128;

/// What an operation does to the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Cmd {
    /// Observed this value.
    Read(Val),
    /// Wrote this value.
    Write(Val),
    /// Found the first value and replaced it with the second.
    Cas(Val, Val),
}

impl Cmd {
    /// The value after applying the command to `state`, or `None` if it cannot apply.
    pub(super) fn apply(self, state: Val) -> Option<Val> {
        match self {
            Cmd::Read(v) => (v == state).then_some(state),
            Cmd::Write(v) => Some(v),
            Cmd::Cas(from, to) => (from == state).then_some(to),
        }
    }

    /// True if the command reads `state` (and so may follow an optional write of it).
    pub(super) fn observes(self, state: Val) -> bool {
        match self {
            Cmd::Read(v) | Cmd::Cas(v, _) => v == state,
            Cmd::Write(_) => false,
        }
    }
}

/// One operation of a key, as the search sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyOp {
    /// History index of the invocation.
    pub invoke: usize,
    /// History index of the completion, if any.
    pub completion: Option<usize>,
    /// When it was invoked.
    pub call: Point,
    /// When it completed; `Point::MAX` when its outcome is unknown.
    pub ret: Point,
    /// What it did.
    pub cmd: Cmd,
    /// True when it completed `ok` and so must be linearized.
    pub required: bool,
}
