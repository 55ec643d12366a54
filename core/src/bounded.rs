//! Maps that remember at most so many keys, for state kept per caller (rate windows,
//! failure buckets, unknown names): a flood of new keys cannot grow memory.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// Makes room for `key` in a map that holds at most `max` keys: when it is full and
/// `key` is new, entries `keep` refuses are dropped, and if that frees nothing, all.
pub fn make_room<K: Eq + Hash + Borrow<Q>, Q: Eq + Hash + ?Sized, V>(
    map: &mut HashMap<K, V>,
    key: &Q,
    max: usize,
    keep: impl FnMut(&K, &mut V) -> bool,
) {
    if map.len() >= max && !map.contains_key(key) {
        map.retain(keep);
        if map.len() >= max {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_drops_what_it_need_not_keep_then_everything() {
        let mut map: HashMap<u32, bool> = (0..4).map(|k| (k, k % 2 == 0)).collect();
        make_room(&mut map, &9, 4, |_, keep| *keep);
        assert_eq!(map.len(), 2, "the two it must keep stay");
        let mut full: HashMap<u32, bool> = (0..4).map(|k| (k, true)).collect();
        make_room(&mut full, &9, 4, |_, keep| *keep);
        assert!(full.is_empty(), "nothing could go, so everything went");
        let mut known: HashMap<u32, bool> = (0..4).map(|k| (k, false)).collect();
        make_room(&mut known, &3, 4, |_, keep| *keep);
        assert_eq!(known.len(), 4, "a key already there needs no room");
    }
}
