//! Answer buffers lent to TCP connections while they answer, so that an idle connection holds
//! none. An answer over TCP may be 64 KiB; a connection that kept its own buffer (as this
//! server once did, 136 KiB with the query's and a reader's) would let a thousand idle clients
//! hold 136 MB. Now a connection borrows one for the time it builds and writes an answer.

use std::sync::Mutex;

use crate::wire::MAX_MESSAGE;

/// The buffers kept for reuse beyond those in use: enough for the connections busy at once on
/// a loaded server, without holding the peak's memory for ever.
const KEPT: usize = 32;

/// An answer buffer: two octets of length, then the message.
pub type Buffer = Box<[u8]>;

#[derive(Default)]
pub struct Pool {
    free: Mutex<Vec<Buffer>>,
}

impl Pool {
    pub fn take(&self) -> Buffer {
        let reused = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        reused.unwrap_or_else(|| vec![0u8; MAX_MESSAGE + 2].into_boxed_slice())
    }

    pub fn give_back(&self, buffer: Buffer) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < KEPT {
            free.push(buffer);
        }
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.free.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::{Pool, KEPT};

    #[test]
    fn a_buffer_given_back_is_lent_again_and_the_pool_keeps_a_bounded_number() {
        let pool = Pool::default();
        let a = pool.take();
        let at = a.as_ptr();
        pool.give_back(a);
        let again = pool.take();
        assert_eq!(again.as_ptr(), at, "reused, not allocated again");
        pool.give_back(again);
        let many: Vec<_> = (0..KEPT + 10).map(|_| pool.take()).collect();
        for b in many {
            pool.give_back(b);
        }
        assert_eq!(pool.kept(), KEPT);
    }
}
