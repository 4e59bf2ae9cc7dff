//! Small numbers for names that repeat on every entry.

use std::collections::HashMap;

/// A name turned into a small number, so per-worker and per-group state can
/// live in vectors instead of maps keyed by strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Sym(u32);

impl Sym {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug, Default)]
pub(super) struct Interner {
    names: Vec<String>,
    ids: HashMap<String, Sym>,
    /// Entries come in runs from the same worker: one comparison instead of
    /// a hash for most of them.
    last: Option<Sym>,
}

impl Interner {
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(sym) = self.last.filter(|&sym| self.name(sym) == name) {
            return sym;
        }
        let sym = match self.ids.get(name) {
            Some(&sym) => sym,
            None => {
                // Saturates only past 4 billion names; they then share one.
                let sym = Sym(u32::try_from(self.names.len()).unwrap_or(u32::MAX));
                self.names.push(name.to_owned());
                self.ids.insert(name.to_owned(), sym);
                sym
            }
        };
        self.last = Some(sym);
        sym
    }

    pub fn name(&self, sym: Sym) -> &str {
        self.names.get(sym.index()).map_or("", String::as_str)
    }
}
