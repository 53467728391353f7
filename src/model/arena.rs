//! A shared home for many small values' bytes.

use bytes::{Bytes, BytesMut};

/// Where decoded strings (and the binlog reader's DECIMAL texts) are kept: chunks shared by many values, so a value
/// costs a copy and a reference count rather than an allocation of its own. A chunk is freed
/// when the last value in it is; the values of one chunk are read one after the other, so they
/// sit in one batch or two consecutive ones, and a chunk outlives its batch by one batch at
/// most. A value larger than a chunk gets an allocation of its own size. Its users: the binlog
/// reader and the JsonConverter's payload reader.
#[derive(Debug, Default)]
pub(crate) struct ValueArena {
    chunk: BytesMut,
}

/// Bytes of one [`ValueArena`] chunk.
pub(crate) const ARENA_CHUNK: usize = 64 << 10;

impl ValueArena {
    /// A copy of `bytes` in the arena.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Bytes {
        self.write(bytes.len(), |out| {
            out.extend_from_slice(bytes);
            Some(())
        })
        .expect("a copy is always written")
    }

    /// What `write` appends (at most `max` bytes, for room in the chunk), as one value; `None`,
    /// and nothing kept, when it gives up.
    pub(crate) fn write(
        &mut self,
        max: usize,
        write: impl FnOnce(&mut BytesMut) -> Option<()>,
    ) -> Option<Bytes> {
        if self.chunk.capacity() - self.chunk.len() < max {
            self.chunk = BytesMut::with_capacity(ARENA_CHUNK.max(max));
        }
        match write(&mut self.chunk) {
            Some(()) => Some(self.chunk.split().freeze()),
            None => {
                self.chunk.clear();
                None
            }
        }
    }
}
