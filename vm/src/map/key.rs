//! Map keys (owned, and borrowed from a slot) and the secret key of an
//! instance's map hash.

use super::STR_KEY_BYTES;
use crate::siphash;

/// A map key. Keys are owned values, never references, so maps need no
/// collector support for them and hashing depends only on content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Int(i64),
    Bool(bool),
    Str(Box<str>),
}

/// A map key as found in a slot: borrowed, so looking a key up never
/// allocates. It hashes and compares exactly like the [`Key`] it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRef<'a> {
    Int(i64),
    Bool(bool),
    Str(&'a str),
}

impl KeyRef<'_> {
    pub fn to_key(self) -> Key {
        match self {
            KeyRef::Int(i) => Key::Int(i),
            KeyRef::Bool(b) => Key::Bool(b),
            KeyRef::Str(s) => Key::Str(s.into()),
        }
    }

    /// Accounted bytes the key itself holds outside the entry (a string
    /// key's own allocation).
    pub fn own_bytes(self) -> usize {
        match self {
            KeyRef::Str(s) if !s.is_empty() => STR_KEY_BYTES + s.len(),
            _ => 0,
        }
    }
}

impl Key {
    pub fn as_ref(&self) -> KeyRef<'_> {
        match self {
            Key::Int(i) => KeyRef::Int(*i),
            Key::Bool(b) => KeyRef::Bool(*b),
            Key::Str(s) => KeyRef::Str(s),
        }
    }
}

impl std::fmt::Display for KeyRef<'_> {
    /// How a key appears in error messages: strings quoted (and long ones
    /// shortened, see [`crate::text::quoted`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::Int(i) => write!(f, "{i}"),
            KeyRef::Bool(b) => write!(f, "{b}"),
            KeyRef::Str(s) => f.write_str(&crate::text::quoted(s)),
        }
    }
}

/// The secret key of an instance's map hash. Drawn from the operating
/// system's randomness for each instance ([`HashSeed::random`]); a fixed
/// one is only for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSeed(pub u64, pub u64);

impl HashSeed {
    /// A fresh key from the operating system's randomness (through the
    /// randomly keyed hasher the standard library seeds from it).
    pub fn random() -> HashSeed {
        use std::collections::hash_map::RandomState;
        use std::hash::{BuildHasher, Hasher};
        let draw = |salt: u64| {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(salt);
            h.finish()
        };
        HashSeed(draw(0x243f_6a88_85a3_08d3), draw(0x1319_8a2e_0370_7344))
    }

    #[inline]
    pub fn hash(self, key: KeyRef) -> u64 {
        match key {
            KeyRef::Int(i) => siphash::hash_u64(self.0, self.1, i as u64),
            KeyRef::Bool(b) => siphash::hash_u64(self.0, self.1, b as u64),
            KeyRef::Str(s) => siphash::hash_bytes(self.0, self.1, s.as_bytes()),
        }
    }
}
