//! A fixed-capacity list on the stack that is not zeroed when created: the answer path makes
//! several per query, and clearing their whole capacity each time cost more than using them.

use std::mem::MaybeUninit;

pub struct Small<T: Copy, const N: usize> {
    items: [MaybeUninit<T>; N],
    len: usize,
}

impl<T: Copy, const N: usize> Small<T, N> {
    #[inline]
    pub fn new() -> Self {
        Small {
            items: [const { MaybeUninit::uninit() }; N],
            len: 0,
        }
    }

    /// Appends; returns false (and drops `v`) when full.
    #[inline]
    pub fn push(&mut self, v: T) -> bool {
        if self.len == N {
            return false;
        }
        self.items[self.len] = MaybeUninit::new(v);
        self.len += 1;
        true
    }

    #[inline]
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: the first `len` items were written by `push`, and T is Copy (no drop).
        unsafe { std::slice::from_raw_parts(self.items.as_ptr().cast::<T>(), self.len) }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Puts the items in a uniformly random order (Fisher–Yates).
    pub fn shuffle(&mut self, rng: &mut crate::policy::Random) {
        for i in (1..self.len).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            self.items.swap(i, j);
        }
    }

    /// Forgets items past `len` (used to roll back).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

#[cfg(test)]
mod tests {
    use super::Small;

    #[test]
    fn pushes_until_full_and_truncates() {
        let mut s: Small<u32, 2> = Small::new();
        assert!(s.push(1) && s.push(2));
        assert!(!s.push(3));
        assert_eq!(s.as_slice(), &[1, 2]);
        s.truncate(1);
        assert_eq!(s.as_slice(), &[1]);
    }
}
