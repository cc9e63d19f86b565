//! The set of user ids already seen, with the line each was first seen on.
//!
//! This is the only thing validation keeps per row, so it is laid out for size: ids
//! as `u128` and first lines in two dense vectors, plus an open-addressing index of
//! `u64` slots (load factor at most 1/2), each holding an id's position and 32 more
//! bits of its hash, so a probe only reads the id itself when it very likely
//! matches: one cache miss per row instead of two. About 40 bytes per id at a
//! million rows, against 52 and more for a `HashMap<u128, u64>`, which also holds its
//! old and new tables at once while it grows (78 MiB at a million). The vectors grow
//! by `realloc`, which for large blocks remaps pages instead of copying.

/// Ids seen so far and where.
pub(crate) struct IdSet {
    /// 0 = empty, otherwise `tag << 32 | (index into ids + 1)`.
    slots: Vec<u64>,
    ids: Vec<u128>,
    lines: Vec<u64>,
}

/// The index stores `index + 1` in a `u32`; past this many ids, new ids are not
/// remembered (4 billion rows is far beyond any org; it must not panic either).
const MAX_IDS: usize = u32::MAX as usize - 1;

impl IdSet {
    pub fn new() -> Self {
        IdSet {
            slots: vec![0; 1024],
            ids: Vec::new(),
            lines: Vec::new(),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Remember `id` as seen on `line`. If it was seen before, returns the line it
    /// was first seen on and changes nothing.
    pub fn insert(&mut self, id: u128, line: u64) -> Option<u64> {
        let mask = self.slots.len() - 1;
        let h = hash(id);
        let tag = h >> 32;
        let mut i = h as usize & mask;
        loop {
            match self.slots[i] {
                0 => break,
                s if s >> 32 == tag => {
                    let k = (s as u32 - 1) as usize;
                    if self.ids[k] == id {
                        return Some(self.lines[k]);
                    }
                }
                _ => {}
            }
            i = (i + 1) & mask;
        }
        if self.ids.len() >= MAX_IDS {
            return None;
        }
        self.ids.push(id);
        self.lines.push(line);
        self.slots[i] = (tag << 32) | self.ids.len() as u64;
        if self.ids.len() * 2 > self.slots.len() {
            self.grow();
        }
        None
    }

    fn grow(&mut self) {
        let mut slots = vec![0u64; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for &s in &self.slots {
            if s == 0 {
                continue;
            }
            let k = (s as u32 - 1) as usize;
            let mut i = hash(self.ids[k]) as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = s;
        }
        self.slots = slots;
    }
}

/// Both halves folded and mixed (MurmurHash3's finaliser): ids are usually random
/// (UUID v4) but may be sequential or differ only in a few bits, and all must spread.
/// The low bits pick the slot, the high 32 bits are the tag.
fn hash(id: u128) -> u64 {
    let mut h = (id as u64) ^ ((id >> 64) as u64).rotate_left(29);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_insert_returns_the_first_line() {
        let mut set = IdSet::new();
        assert_eq!(set.insert(7, 2), None);
        assert_eq!(set.insert(8, 3), None);
        assert_eq!(set.insert(7, 9), Some(2));
        assert_eq!(set.insert(7, 10), Some(2));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn many_ids_survive_growth_including_patterned_ones() {
        let mut set = IdSet::new();
        let ids: Vec<u128> = (1..50_000u128)
            .flat_map(|i| [i, i << 64, i << 100, u128::MAX - i])
            .collect();
        for (line, &id) in ids.iter().enumerate() {
            let first = set.insert(id, line as u64);
            assert_eq!(first, None, "id {id:x} reported as a duplicate");
        }
        for (line, &id) in ids.iter().enumerate() {
            assert_eq!(set.insert(id, 0), Some(line as u64));
        }
        assert_eq!(set.len(), ids.len());
    }
}
