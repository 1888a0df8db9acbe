//! Reports of a run: the history as JSON lines, the results as JSON, a timeline figure
//! (SVG) and a summary for the terminal.

mod summary;
pub mod svg;

pub use summary::{counts, write, Counts};
