//! A sweep's table in memory: named columns of `u64` or `f64`, one row per (point, time),
//! and the checksum of its data.

use crnkit_core::checkpoint::Fnv1a;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Unsigned integers (`point`, `x0:` counts).
    U64,
    /// Floating point (parameters, time, statistics).
    F64,
}

/// The names and types of a table's columns, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    names: Vec<String>,
    kinds: Vec<ColumnKind>,
}

impl Layout {
    /// Add a column.
    pub fn push(&mut self, name: &str, kind: ColumnKind) {
        self.names.push(name.to_string());
        self.kinds.push(kind);
    }

    /// The column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column types.
    pub fn kinds(&self) -> &[ColumnKind] {
        &self.kinds
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// No columns.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// An empty table with these columns.
    pub fn empty_table(&self) -> Table {
        Table {
            layout: self.clone(),
            columns: self
                .kinds
                .iter()
                .map(|k| match k {
                    ColumnKind::U64 => Column::U64(Vec::new()),
                    ColumnKind::F64 => Column::F64(Vec::new()),
                })
                .collect(),
        }
    }
}

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Unsigned integers.
    U64(Vec<u64>),
    /// Floating point.
    F64(Vec<f64>),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::U64(v) => v.len(),
            Column::F64(v) => v.len(),
        }
    }

    /// No values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values when they are `f64`.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match self {
            Column::F64(v) => Some(v),
            Column::U64(_) => None,
        }
    }

    /// The values when they are `u64`.
    pub fn as_u64(&self) -> Option<&[u64]> {
        match self {
            Column::U64(v) => Some(v),
            Column::F64(_) => None,
        }
    }

    fn append(&mut self, other: &mut Column) {
        match (self, other) {
            (Column::U64(a), Column::U64(b)) => a.append(b),
            (Column::F64(a), Column::F64(b)) => a.append(b),
            _ => unreachable!("columns of one layout have one type"),
        }
    }

    fn split_front(&mut self, n: usize) -> Column {
        match self {
            Column::U64(v) => {
                let rest = v.split_off(n);
                Column::U64(std::mem::replace(v, rest))
            }
            Column::F64(v) => {
                let rest = v.split_off(n);
                Column::F64(std::mem::replace(v, rest))
            }
        }
    }

    /// Feed the values' little-endian bytes to `h`.
    fn hash_into(&self, h: &mut Fnv1a) {
        match self {
            Column::U64(v) => v.iter().for_each(|x| h.update(&x.to_le_bytes())),
            Column::F64(v) => v.iter().for_each(|x| h.update(&x.to_bits().to_le_bytes())),
        }
    }
}

/// Named columns of equal length: the rows of a range of a sweep's points, ordered by
/// point, then time.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    layout: Layout,
    columns: Vec<Column>,
}

impl Table {
    /// A table from its columns (each as long as the first; the caller's layout order).
    pub(crate) fn from_columns(layout: Layout, columns: Vec<Column>) -> Table {
        Table { layout, columns }
    }

    /// The column names and types.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The columns, in layout order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The columns, taken.
    pub fn into_columns(self) -> Vec<Column> {
        self.columns
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        let i = self.layout.names.iter().position(|n| n == name)?;
        self.columns.get(i)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// Move `other`'s rows to the end of this table (same layout).
    pub(crate) fn append(&mut self, other: &mut Table) {
        for (a, b) in self.columns.iter_mut().zip(other.columns.iter_mut()) {
            a.append(b);
        }
    }

    /// Take the first `n` rows out.
    pub(crate) fn split_front(&mut self, n: usize) -> Table {
        Table {
            layout: self.layout.clone(),
            columns: self.columns.iter_mut().map(|c| c.split_front(n)).collect(),
        }
    }

    /// Mutable columns (for filling a block).
    pub(crate) fn columns_mut(&mut self) -> &mut [Column] {
        &mut self.columns
    }
}

/// The checksum of a table's data, fed in blocks of rows: one FNV-1a hash per column over
/// its values' little-endian bytes, then FNV-1a over each column's name and hash. The
/// same rows give the same checksum however they are cut into blocks.
#[derive(Debug, Clone)]
pub struct Checksum {
    per_column: Vec<Fnv1a>,
}

impl Checksum {
    /// The checksum of no rows of `columns` columns.
    pub fn new(columns: usize) -> Checksum {
        Checksum {
            per_column: vec![Fnv1a::new(); columns],
        }
    }

    /// Add a block of rows.
    pub fn update(&mut self, block: &Table) {
        for (h, c) in self.per_column.iter_mut().zip(&block.columns) {
            c.hash_into(h);
        }
    }

    /// The checksum as `fnv1a64:` and 16 hex digits.
    pub fn finish(&self, layout: &Layout) -> String {
        let mut h = Fnv1a::new();
        for (name, c) in layout.names.iter().zip(&self.per_column) {
            h.update(name.as_bytes());
            h.update(&[0]);
            h.update(&c.finish().to_le_bytes());
        }
        format!("fnv1a64:{:016x}", h.finish())
    }
}
