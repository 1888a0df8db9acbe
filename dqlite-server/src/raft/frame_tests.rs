//! The raft frame reader allocates as bytes arrive, not what the length prefix claims. A
//! counting allocator (for the crate's unit tests) records the largest allocation made by
//! each thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use super::{read_frame, MAX_FRAME};

struct Largest;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// A frame prefix claiming `len` bytes, followed by `sent` of them.
fn frame(len: usize, sent: usize) -> Vec<u8> {
    let mut bytes = (len as u32).to_le_bytes().to_vec();
    bytes.push(1);
    bytes.extend(std::iter::repeat_n(7u8, sent));
    bytes
}

#[tokio::test(flavor = "current_thread")]
async fn a_frame_claiming_much_and_sending_little_allocates_little() {
    let claimed = MAX_FRAME - 1;
    let bytes = frame(claimed, 100);
    LARGEST.with(|l| l.set(0));
    let res = read_frame(&mut bytes.as_slice()).await;
    let largest = LARGEST.with(Cell::get);
    assert_eq!(
        res.map(|_| ()).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::UnexpectedEof)
    );
    assert!(
        largest < 1 << 20,
        "{largest} bytes allocated for a frame that sent 100"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn whole_frames_still_read_and_oversized_ones_fail() {
    let bytes = frame(300_000, 300_000);
    let (kind, body) = read_frame(&mut bytes.as_slice()).await.expect("frame");
    assert_eq!((kind, body.len()), (1, 300_000));
    let bytes = frame(MAX_FRAME + 1, 0);
    assert!(read_frame(&mut bytes.as_slice()).await.is_err());
}
