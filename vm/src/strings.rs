//! The string instructions' work on the heap: comparing, searching,
//! concatenating, slicing, splitting and joining.
//!
//! Each operation here takes time proportional to the bytes it touches,
//! so each looks at a [`Watch`] between chunks of at most
//! [`CHUNK_BYTES`] bytes and stops with the watch's [`Stop`] when the
//! deadline passed or the host interrupted: a timeout lands in time even
//! inside one instruction over a huge string. An operation that stops
//! leaves every existing value as it was (a half-built result is dropped
//! unaccounted: it never reached the heap). The interpreter charges the
//! fuel for the work (see [`crate::limits`]) before calling in here.

use crate::heap::{
    new_text, str_size, text_bytes, Heap, Object, INLINE_TEXT, OBJECT_BYTES, SHARE_MIN,
};
use crate::limits::{Stop, Watch, CHUNK_BYTES, CHUNK_ELEMENTS};
use crate::opcodes::Instr;
use compact_str::CompactString;
use std::cmp::Ordering;
use std::ops::Range;

/// `s` in pieces of at most [`CHUNK_BYTES`] bytes (a few more where a
/// character straddles the boundary), each a valid `str`.
pub fn str_chunks(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// Appends `text` to `out` a chunk at a time, checking `watch` between
/// chunks.
#[inline]
pub fn push_watched(out: &mut CompactString, text: &str, watch: &Watch) -> Result<(), Stop> {
    if text.len() <= CHUNK_BYTES {
        out.push_str(text);
        return Ok(());
    }
    for (i, c) in str_chunks(text).enumerate() {
        if i > 0 {
            watch.check()?;
        }
        out.push_str(c);
    }
    Ok(())
}

/// A copy of `text` as a boxed `str` (a map key), checking `watch` between
/// chunks.
pub fn boxed_watched(text: &str, watch: &Watch) -> Result<Box<str>, Stop> {
    let mut out = String::with_capacity(text.len());
    for (i, c) in str_chunks(text).enumerate() {
        if i > 0 {
            watch.check()?;
        }
        out.push_str(c);
    }
    Ok(out.into_boxed_str())
}

/// Bytewise comparison of two texts, a chunk at a time.
#[inline]
pub fn compare_watched(a: &str, b: &str, watch: &Watch) -> Result<Ordering, Stop> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len().min(b.len());
    if n <= CHUNK_BYTES {
        return Ok(a.cmp(b));
    }
    let mut at = 0;
    while at < n {
        if at > 0 {
            watch.check()?;
        }
        let end = (at + CHUNK_BYTES).min(n);
        match a[at..end].cmp(&b[at..end]) {
            Ordering::Equal => at = end,
            other => return Ok(other),
        }
    }
    Ok(a.len().cmp(&b.len()))
}

/// Byte offset of the first occurrence of `needle` in `hay`. The search
/// runs over windows of the haystack that overlap by the needle's length
/// (less one byte), checking `watch` between them; a window is at least as
/// long as the needle, so the total work stays linear.
pub fn find_watched(hay: &str, needle: &str, watch: &Watch) -> Result<Option<usize>, Stop> {
    let step = CHUNK_BYTES.max(needle.len());
    if watch.is_idle() || hay.len() <= step {
        return Ok(find(hay, needle));
    }
    let mut pos = 0;
    while pos < hay.len() {
        if pos > 0 {
            watch.check()?;
        }
        let next = ceil_boundary(hay, pos + step);
        // A match starting before `next` ends at a character boundary at
        // most `next - 1 + needle.len()`.
        let end = floor_boundary(hay, next.saturating_add(needle.len()));
        if let Some(i) = find(&hay[pos..end], needle) {
            return Ok(Some(pos + i));
        }
        pos = next;
    }
    Ok(None)
}

/// `hay.find(needle)`. A one-character needle (the common separator) is
/// found by a byte scan: a substring search's set-up cost per call was most
/// of the time of splitting a long text into short pieces.
fn find(hay: &str, needle: &str) -> Option<usize> {
    // One byte (an ASCII character: any other is two or more): a plain
    // scan of the first bytes finds the separators of short pieces
    // (`split`'s common case) before the vectorised search would have
    // set up; past them, that search takes over.
    if let &[b] = needle.as_bytes() {
        const SHORT: usize = 32;
        let bytes = hay.as_bytes();
        let head = &bytes[..bytes.len().min(SHORT)];
        if let Some(i) = head.iter().position(|&x| x == b) {
            return Some(i);
        }
        return match bytes.len() > SHORT {
            true => hay.find(char::from(b)),
            false => None,
        };
    }
    let mut chars = needle.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => hay.find(c),
        _ => hay.find(needle),
    }
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A piece of a split: its byte range, and where the next one starts
/// (`None` after the last).
pub type Piece = (Range<usize>, Option<usize>);

/// [`next_piece`], searching a long rest of `text` a chunk at a time.
pub fn next_piece_watched(
    text: &str,
    sep: &str,
    pos: usize,
    watch: &Watch,
) -> Result<Option<Piece>, Stop> {
    if let &[b] = sep.as_bytes() {
        // A one-byte separator (ASCII) ending a short piece: found by a
        // plain scan of the piece's first bytes, before any window of a
        // watched search is worked out (that cost more than the scan
        // when splitting a long text into short pieces).
        const SHORT: usize = 64;
        let head = &text.as_bytes()[pos..text.len().min(pos + SHORT)];
        if let Some(i) = head.iter().position(|&x| x == b) {
            return Ok(Some((pos..pos + i, Some(pos + i + 1))));
        }
    }
    if sep.is_empty() || text.len() - pos <= CHUNK_BYTES {
        return Ok(next_piece(text, sep, pos));
    }
    Ok(Some(match find_watched(&text[pos..], sep, watch)? {
        Some(i) => (pos..pos + i, Some(pos + i + sep.len())),
        None => (pos..text.len(), None),
    }))
}

/// The piece of `text` that starts at `pos` when split by `sep`: its byte
/// range and where the next one starts (`None` after the last). Splitting
/// by the empty string gives the characters.
pub fn next_piece(text: &str, sep: &str, pos: usize) -> Option<Piece> {
    if sep.is_empty() {
        let c = text[pos..].chars().next()?;
        let end = pos + c.len_utf8();
        return Some((pos..end, (end < text.len()).then_some(end)));
    }
    Some(match find(&text[pos..], sep) {
        Some(i) => (pos..pos + i, Some(pos + i + sep.len())),
        None => (pos..text.len(), None),
    })
}

/// Why `s.slice(a, b)` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceError {
    /// Not `0 <= a <= b <= len(s)`.
    OutOfRange,
    /// An end inside a character's encoding.
    NotOnBoundary,
}

/// The byte range `s.slice(a, b)` takes, or why it is refused.
pub fn slice_range(s: &str, a: i64, b: i64) -> Result<Range<usize>, SliceError> {
    if a < 0 || b < a || b as u64 > s.len() as u64 {
        return Err(SliceError::OutOfRange);
    }
    let range = a as usize..b as usize;
    if !s.is_char_boundary(range.start) || !s.is_char_boundary(range.end) {
        return Err(SliceError::NotOnBoundary);
    }
    Ok(range)
}

// `concat`'s inline path is never a string that could grow in place
// (`concat_need` counts that growth only for those).
const _: () = assert!(SHARE_MIN >= INLINE_TEXT);

impl Heap {
    /// Whether strings `a` and `b` are equal, by content.
    pub fn str_eq(&self, a: u64, b: u64, watch: &Watch) -> Result<bool, Stop> {
        let (x, y) = (self.str(a), self.str(b));
        if x.len() != y.len() {
            return Ok(false);
        }
        Ok(compare_watched(x, y, watch)? == Ordering::Equal)
    }

    /// How strings `a` and `b` order, bytewise.
    pub fn str_cmp(&self, a: u64, b: u64, watch: &Watch) -> Result<Ordering, Stop> {
        compare_watched(self.str(a), self.str(b), watch)
    }

    /// What string comparison `ins` (`seq`, `sne`, `slt`, `sle`, `sgt` or
    /// `sge`) answers for `a` and `b`: the instructions' one meaning, for
    /// the interpreter and compiled code.
    pub fn str_compare(&self, ins: Instr, a: u64, b: u64, watch: &Watch) -> Result<bool, Stop> {
        Ok(match ins {
            Instr::SEq {} => self.str_eq(a, b, watch)?,
            Instr::SNe {} => !self.str_eq(a, b, watch)?,
            _ => {
                let ord = self.str_cmp(a, b, watch)?;
                match ins {
                    Instr::SLt {} => ord == Ordering::Less,
                    Instr::SLe {} => ord != Ordering::Greater,
                    Instr::SGt {} => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                }
            }
        })
    }

    /// `str(i)`: a new string of `i`'s decimal digits. Room was made for
    /// it ([`OBJECT_BYTES`]: the digits fit inline).
    pub fn alloc_int_text(&mut self, i: i64) -> u64 {
        self.alloc_text(compact_str::ToCompactString::to_compact_string(&i))
    }

    /// `a.find(b)`: the byte offset of the first occurrence, or -1.
    pub fn find(&self, a: u64, b: u64, watch: &Watch) -> Result<i64, Stop> {
        Ok(find_watched(self.str(a), self.str(b), watch)?.map_or(-1, |i| i as i64))
    }

    /// `a + b`. When `a` is the longest string built on its buffer so far
    /// (its bytes end where the buffer's do) and longer than [`SHARE_MIN`]
    /// bytes (so its buffer is on the host heap, not inline), `b` is
    /// appended to the buffer in place and the result is a
    /// [`Object::StrRef`] sharing it: no string's bytes change, since every
    /// string is a prefix of its buffer and appending only adds bytes past
    /// all of them. So `s = s + x` in a loop is amortized linear, as in
    /// CPython, instead of copying `s` every time. The buffer's owner is
    /// accounted for the buffer's capacity, which grows by half when full.
    pub fn concat(&mut self, a: u64, b: u64, watch: &Watch) -> Result<u64, Stop> {
        let (owner, text, la) = self.str_owner(a);
        let in_place = text.len() == la && la > SHARE_MIN;
        let (b_owner, _, lb) = self.str_owner(b);
        if la + lb <= INLINE_TEXT {
            // Inline (never in place: that needs `la > SHARE_MIN`, which
            // the assertion before `impl Heap` holds above `INLINE_TEXT`): made
            // from `a`'s bytes, then one append, which costs less than
            // two appends to an empty text of that capacity.
            let mut joined = CompactString::new(&text[..la]);
            joined.push_str(self.str(b));
            return Ok(self.alloc_text(joined));
        }
        if in_place && b_owner != owner {
            // The buffer is taken out while it grows so that `b` can be
            // read (it has another buffer, checked above).
            let mut text = std::mem::take(self.str_text_mut(owner));
            let before = text_bytes(&text);
            // Grown once, to what `concat_need` counted, before the pieces
            // are appended (growing piece by piece would grow further).
            let pushed = text
                .try_reserve(lb)
                .map_err(|_| Stop::HostMemory)
                .and_then(|_| push_watched(&mut text, self.str(b), watch));
            if pushed.is_err() {
                // Put the buffer back as it was: no string changes.
                text.truncate(la);
            }
            let after = text_bytes(&text);
            *self.str_text_mut(owner) = text;
            if after > before {
                self.grow(after - before);
            } else {
                self.shrink(before - after);
            }
            pushed?;
            return Ok(self.alloc(Object::StrRef {
                owner: owner as u32,
                len: la + lb,
            }));
        }
        let mut s = CompactString::try_with_capacity(la + lb).map_err(|_| Stop::HostMemory)?;
        push_watched(&mut s, &text[..la], watch)?;
        push_watched(&mut s, self.str(b), watch)?;
        Ok(self.alloc_text(s))
    }

    /// An upper bound of the accounted bytes [`Heap::concat`] adds, and the
    /// bytes it copies.
    pub fn concat_need(&self, a: u64, b: u64) -> (usize, usize) {
        let (owner, text, la) = self.str_owner(a);
        let (b_owner, _, lb) = self.str_owner(b);
        if text.len() == la && la > SHARE_MIN && b_owner != owner {
            // compact_str grows a full buffer to 1.5 times its length, or
            // to what is needed if that is more.
            let cap = text_bytes(text);
            let growth = if la + lb > cap {
                (la + la / 2).max(la + lb) - cap
            } else {
                0
            };
            (OBJECT_BYTES + growth, lb)
        } else {
            (str_size(la + lb), la + lb)
        }
    }

    /// Bytes `start..end` of string `s` (a range on character boundaries,
    /// checked by the caller) as a new string.
    pub fn slice(&mut self, s: u64, range: Range<usize>, watch: &Watch) -> Result<u64, Stop> {
        if range.len() <= CHUNK_BYTES {
            let piece = new_text(&self.str(s)[range]);
            return Ok(self.alloc_text(piece));
        }
        let mut piece = CompactString::with_capacity(range.len());
        push_watched(&mut piece, &self.str(s)[range], watch)?;
        Ok(self.alloc_text(piece))
    }

    /// The piece of string `s` split by `sep` that starts at byte `pos`:
    /// its byte range and where the next one starts (`None` after the
    /// last; `None` for the whole when there is no piece there, which only
    /// happens splitting an empty string by the empty string).
    pub fn split_piece(
        &self,
        s: u64,
        sep: u64,
        pos: usize,
    ) -> Option<(Range<usize>, Option<usize>)> {
        next_piece(self.str(s), self.str(sep), pos)
    }

    /// Bytes `range` of string `s` as a new string. Room was made for it.
    pub fn alloc_piece(&mut self, s: u64, range: Range<usize>) -> u64 {
        let piece = new_text(&self.str(s)[range]);
        self.alloc_text(piece)
    }

    /// The length of the text `parts` (an array of strings) joined by
    /// `sep`, counted a chunk of parts at a time.
    pub fn join_len(&self, parts: u64, sep: u64, watch: &Watch) -> Result<usize, Stop> {
        let items = self.array(parts);
        let seplen = self.str(sep).len();
        let mut len = seplen.saturating_mul(items.len().saturating_sub(1));
        for (i, p) in items.iter().enumerate() {
            len = len.saturating_add(self.str(p).len());
            if i % CHUNK_ELEMENTS == CHUNK_ELEMENTS - 1 {
                watch.check()?;
            }
        }
        Ok(len)
    }

    /// The strings of array `parts` joined by `sep`, as a new string of
    /// `len` bytes (from [`Heap::join_len`]).
    pub fn join(&mut self, parts: u64, sep: u64, len: usize, watch: &Watch) -> Result<u64, Stop> {
        // Built as a `String` (whose appends are cheaper than compact_str's
        // for many small parts), then kept as the string's buffer.
        let mut s = String::new();
        s.try_reserve_exact(len).map_err(|_| Stop::HostMemory)?;
        let mut next_check = CHUNK_BYTES;
        for (i, p) in self.array(parts).iter().enumerate() {
            if i > 0 {
                s.push_str(self.str(sep));
            }
            let part = self.str(p);
            if part.len() <= CHUNK_BYTES {
                s.push_str(part);
            } else {
                for c in str_chunks(part) {
                    watch.check()?;
                    s.push_str(c);
                }
            }
            if s.len() >= next_check || i % CHUNK_ELEMENTS == CHUNK_ELEMENTS - 1 {
                watch.check()?;
                next_check = s.len() + CHUNK_BYTES;
            }
        }
        let text = if s.len() <= 24 {
            CompactString::new(&s)
        } else {
            CompactString::from(s)
        };
        Ok(self.alloc_text(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::Collection;
    use std::time::{Duration, Instant};

    /// A watch whose deadline has passed: any check stops.
    fn expired() -> Watch {
        Watch {
            deadline: Some(Instant::now() - Duration::from_millis(1)),
            interrupt: None,
        }
    }

    #[test]
    fn chunked_search_agrees_with_str_find() {
        let text = "ab".repeat(CHUNK_BYTES) + "héllo" + &"x".repeat(3 * CHUNK_BYTES) + "needle";
        let far = Watch {
            deadline: Some(Instant::now() + Duration::from_secs(3600)),
            interrupt: None,
        };
        for needle in [
            "needle", "héllo", "bh", "ab", "xn", "", "missing", "lo", "é",
        ] {
            assert_eq!(
                find_watched(&text, needle, &far).unwrap(),
                text.find(needle),
                "{needle:?}"
            );
        }
        // A match straddling each window boundary is found.
        for k in [1, 2, 3] {
            let mut t = "a".repeat(k * CHUNK_BYTES - 3);
            t.push_str("needle");
            assert_eq!(find_watched(&t, "needle", &far).unwrap(), t.find("needle"));
        }
        assert_eq!(
            find_watched(&text, "needle", &expired()),
            Err(Stop::Timeout)
        );
    }

    #[test]
    fn int_texts_and_short_concatenations_are_as_formatted_and_accounted() {
        let mut h = Heap::new();
        for i in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            12345,
            1 << 40,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let s = h.alloc_int_text(i);
            assert_eq!(h.str(s), i.to_string());
        }
        // Results of 23, 24 (the most stored inline) and 25 bytes.
        let parts = [
            "",
            "a",
            "é",
            "0123456789abcdefghijklm",
            "ü0123456789abcdefghijk",
        ];
        for x in parts {
            for y in parts {
                let (a, b) = (h.alloc_str(x), h.alloc_str(y));
                let need = h.concat_need(a, b).0;
                let before = h.bytes;
                let c = h.concat(a, b, &Watch::IDLE).unwrap();
                assert_eq!(h.str(c), format!("{x}{y}"));
                assert_eq!(h.bytes - before, str_size(x.len() + y.len()));
                assert!(h.bytes - before <= need);
            }
        }
        assert_eq!(h.bytes, h.recount());
    }

    #[test]
    fn a_one_byte_needle_is_found_in_the_first_bytes_and_past_them() {
        for n in [0, 1, 5, 31, 32, 33, 64, 200] {
            for at in [0, 1, 30, 31, 32, 33, 100] {
                let mut hay = "é".repeat(n / 2) + &"a".repeat(n % 2);
                if let Some(at) = (at..=hay.len()).find(|&i| hay.is_char_boundary(i)) {
                    hay.insert(at, ',');
                }
                for needle in [",", "a", "z"] {
                    assert_eq!(find(&hay, needle), hay.find(needle), "{hay:?} {needle:?}");
                }
            }
        }
    }

    #[test]
    fn a_long_piece_is_searched_watched() {
        let text = "a".repeat(3 * CHUNK_BYTES);
        assert_eq!(
            next_piece_watched(&text, "ab", 0, &expired()),
            Err(Stop::Timeout)
        );
        assert_eq!(
            next_piece_watched(&text, "ab", 0, &Watch::IDLE),
            Ok(Some((0..text.len(), None)))
        );
        // Short rests take the plain search, which needs no watch.
        assert_eq!(
            next_piece_watched("a,b", ",", 0, &expired()),
            Ok(Some((0..1, Some(2))))
        );
    }

    #[test]
    fn watched_pieces_agree_with_str_split() {
        // Short pieces (found by the head scan), pieces longer than it,
        // one longer than a chunk, non-ASCII text beside the separators,
        // an empty piece and an empty last one; watched and not.
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&"é".repeat(i % 7));
            text.push_str(&"x".repeat(i % 150));
            text.push(',');
        }
        text.push_str(&"y".repeat(CHUNK_BYTES + 5));
        text.push_str(",,ü,");
        let far = Watch {
            deadline: Some(Instant::now() + Duration::from_secs(3600)),
            interrupt: None,
        };
        for watch in [&Watch::IDLE, &far] {
            let mut got = Vec::new();
            let mut pos = 0;
            while let Some((r, next)) = next_piece_watched(&text, ",", pos, watch).unwrap() {
                got.push(&text[r]);
                match next {
                    Some(n) => pos = n,
                    None => break,
                }
            }
            assert_eq!(got, text.split(',').collect::<Vec<_>>());
        }
    }

    #[test]
    fn chunked_comparison_agrees_with_str_cmp() {
        let base = "z".repeat(3 * CHUNK_BYTES);
        let far = Watch::IDLE;
        let cases = [
            (base.clone(), base.clone()),
            (base.clone(), base.clone() + "a"),
            (base.clone() + "b", base.clone() + "a"),
            ("".into(), "a".into()),
            ("é".into(), "e".into()),
        ];
        for (a, b) in &cases {
            assert_eq!(compare_watched(a, b, &far).unwrap(), a.cmp(b));
        }
        assert_eq!(
            compare_watched(&base, &base, &expired()),
            Err(Stop::Timeout)
        );
        assert_eq!(str_chunks(&base).map(str::len).max(), Some(CHUNK_BYTES));
        let multi = "é".repeat(CHUNK_BYTES);
        assert_eq!(str_chunks(&multi).collect::<String>(), multi);
    }

    #[test]
    fn pieces_agree_with_str_split() {
        let cases = [
            ("a,b,,c", ","),
            ("", ","),
            (",", ","),
            ("a,", ","),
            ("no separator", ";"),
            ("a--b---c", "--"),
            ("héllo wörld", ""),
            ("", ""),
            ("aaa", "aa"),
        ];
        for (text, sep) in cases {
            let mut got = Vec::new();
            let mut pos = 0;
            while let Some((r, next)) = next_piece(text, sep, pos) {
                got.push(&text[r]);
                match next {
                    Some(n) => pos = n,
                    None => break,
                }
            }
            let want: Vec<&str> = if sep.is_empty() {
                text.split("").filter(|p| !p.is_empty()).collect()
            } else {
                text.split(sep).collect()
            };
            assert_eq!(got, want, "{text:?} split by {sep:?}");
        }
    }

    #[test]
    fn concatenation_shares_buffers_without_changing_any_value() {
        let w = &Watch::IDLE;
        let mut h = Heap::new();
        let base = h.alloc_str("a string too long to be stored inline");
        let x = h.alloc_str("x");
        let one = h.concat(base, x, w).unwrap();
        // `base` ended its buffer, so `one` shares it.
        assert!(matches!(h.get(one), Object::StrRef { owner, .. } if *owner as u64 == base));
        let two = h.concat(one, x, w).unwrap();
        assert!(matches!(h.get(two), Object::StrRef { .. }));
        // `one` no longer ends the buffer: a copy.
        let y = h.alloc_str("y");
        let other = h.concat(one, y, w).unwrap();
        assert!(matches!(h.get(other), Object::Str { .. }));
        // A string appended to its own buffer is copied too.
        let twice = h.concat(two, two, w).unwrap();
        assert_eq!(h.str(base), "a string too long to be stored inline");
        assert_eq!(h.str(one), "a string too long to be stored inlinex");
        assert_eq!(h.str(two), "a string too long to be stored inlinexx");
        assert_eq!(h.str(other), "a string too long to be stored inlinexy");
        assert_eq!(h.str(twice), [h.str(two), h.str(two)].concat());
        // Short strings stay inline and are always copied.
        let short = h.alloc_str("ab");
        let short2 = h.concat(short, x, w).unwrap();
        assert!(matches!(h.get(short2), Object::Str { .. }));
        assert_eq!(h.str(short), "ab");
        // Only `two` is kept: its owner survives with the whole buffer.
        h.collect(&[two], &crate::heap::no_gc_info(), Collection::Major, w)
            .unwrap();
        assert_eq!(h.str(two), "a string too long to be stored inlinexx");
        assert_eq!(h.live_objects(), 2);
        assert_eq!(h.bytes, h.recount());
        h.collect(&[], &crate::heap::no_gc_info(), Collection::Major, w)
            .unwrap();
        assert_eq!(h.live_objects(), 0);
        assert_eq!(h.bytes, 0);
    }

    #[test]
    fn concat_need_bounds_what_concat_adds() {
        let w = &Watch::IDLE;
        let mut h = Heap::new();
        let mut s = h.alloc_str("");
        let piece = h.alloc_str("0123456789abcdefghij");
        for _ in 0..200 {
            let (need, _) = h.concat_need(s, piece);
            let before = h.bytes;
            s = h.concat(s, piece, w).unwrap();
            assert!(h.bytes - before <= need, "{} > {need}", h.bytes - before);
        }
        assert_eq!(h.str(s).len(), 200 * 20);
        // An append longer than a chunk, in place, with a watch that
        // looks between the chunks.
        let far = Watch {
            deadline: Some(Instant::now() + Duration::from_secs(3600)),
            interrupt: None,
        };
        let big = h.alloc_str(&"y".repeat(2 * CHUNK_BYTES + 1));
        let (need, _) = h.concat_need(s, big);
        let before = h.bytes;
        h.concat(s, big, &far).unwrap();
        assert!(h.bytes - before <= need, "{} > {need}", h.bytes - before);
        assert_eq!(h.bytes, h.recount());
    }

    #[test]
    fn a_stopped_append_leaves_every_string_as_it_was() {
        let mut h = Heap::new();
        let base = h.alloc_str("a string too long to be stored inline");
        let long = h.alloc_str(&"y".repeat(3 * CHUNK_BYTES));
        let before = h.bytes;
        assert_eq!(h.concat(base, long, &expired()), Err(Stop::Timeout));
        assert_eq!(h.str(base), "a string too long to be stored inline");
        assert_eq!(h.bytes, h.recount());
        assert!(h.bytes >= before);
        // And the buffer can still be appended to.
        let x = h.alloc_str("x");
        let one = h.concat(base, x, &Watch::IDLE).unwrap();
        assert_eq!(h.str(one), "a string too long to be stored inlinex");
    }

    #[test]
    fn compact_str_keeps_the_rules_accounting_relies_on() {
        let inline = CompactString::with_capacity(24);
        assert!(!inline.is_heap_allocated());
        let small = CompactString::with_capacity(25);
        assert_eq!(text_bytes(&small), 32);
        assert_eq!(str_size(25), OBJECT_BYTES + 32);
        let mut big = CompactString::with_capacity(100);
        big.push_str(&"x".repeat(100));
        assert_eq!(text_bytes(&big), 100);
        let mut grown = big.clone();
        grown.push_str("y");
        assert_eq!(text_bytes(&grown), 150, "a full buffer grows by half");
        assert_eq!(text_bytes(&CompactString::with_capacity(40)), 40);
    }
}
