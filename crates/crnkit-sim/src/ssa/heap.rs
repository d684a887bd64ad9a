//! An indexed binary min-heap of channel times with O(log n) key updates.

/// Min-heap over items 0..n keyed by `f64` times; `pos[item]` is its place in the heap.
#[derive(Debug, Clone)]
pub(crate) struct IndexedHeap {
    heap: Vec<u32>,
    pos: Vec<u32>,
    key: Vec<f64>,
}

impl IndexedHeap {
    /// Build from keys (one per item).
    pub(crate) fn new(keys: Vec<f64>) -> Self {
        let n = keys.len();
        let mut h = IndexedHeap {
            heap: (0..n as u32).collect(),
            pos: (0..n as u32).collect(),
            key: keys,
        };
        for i in (0..n / 2).rev() {
            h.sift_down(i);
        }
        h
    }

    /// The item with the smallest key and the key.
    #[inline]
    pub(crate) fn top(&self) -> Option<(usize, f64)> {
        self.heap
            .first()
            .map(|&i| (i as usize, self.key[i as usize]))
    }

    /// Key of `item`.
    #[inline]
    pub(crate) fn key(&self, item: usize) -> f64 {
        self.key[item]
    }

    /// Change the key of `item`.
    #[inline]
    pub(crate) fn update(&mut self, item: usize, key: f64) {
        let old = self.key[item];
        self.key[item] = key;
        let p = self.pos[item] as usize;
        if key < old {
            self.sift_up(p);
        } else if key > old {
            self.sift_down(p);
        }
    }

    #[inline]
    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a] as usize] = a as u32;
        self.pos[self.heap[b] as usize] = b as u32;
    }

    fn sift_up(&mut self, mut p: usize) {
        while p > 0 {
            let parent = (p - 1) / 2;
            if self.key[self.heap[p] as usize] < self.key[self.heap[parent] as usize] {
                self.swap(p, parent);
                p = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut p: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * p + 1, 2 * p + 2);
            let mut m = p;
            if l < n && self.key[self.heap[l] as usize] < self.key[self.heap[m] as usize] {
                m = l;
            }
            if r < n && self.key[self.heap[r] as usize] < self.key[self.heap[m] as usize] {
                m = r;
            }
            if m == p {
                break;
            }
            self.swap(p, m);
            p = m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_minimum_on_top() {
        let mut h = IndexedHeap::new(vec![5.0, 3.0, 8.0, 1.0, 9.0]);
        assert_eq!(h.top(), Some((3, 1.0)));
        h.update(3, 10.0);
        assert_eq!(h.top(), Some((1, 3.0)));
        h.update(4, 0.5);
        assert_eq!(h.top(), Some((4, 0.5)));
        h.update(4, f64::INFINITY);
        h.update(1, f64::INFINITY);
        assert_eq!(h.top(), Some((0, 5.0)));
        assert_eq!(h.key(2), 8.0);
    }
}
