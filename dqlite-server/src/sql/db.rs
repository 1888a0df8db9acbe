//! One database of a node: its file, the generation of that file, its writer thread and the
//! writer's FIFO queue (the registry creates and names them).

use std::path::PathBuf;

use super::queue::WriteQueue;
use super::writer::WriterHandle;

/// One database.
pub struct Db {
    /// Its file.
    pub path: PathBuf,
    /// Changes when the file is replaced; unique in the process.
    pub generation: u64,
    /// The writer thread.
    pub writer: WriterHandle,
    /// FIFO ownership of the writer.
    pub queue: WriteQueue,
}
