//! The `builtin id` instruction (see [`crate::builtins`]): the numeric
//! functions are [`eval_number`]; the string ones are here, because they
//! read and make heap strings.
//!
//! Each charges fuel for the bytes it reads and writes before doing the
//! work, makes room on the heap before it allocates (a result whose size
//! depends on the text is built first and accounted before it is
//! stored), and looks at the watch between chunks of long text, as the
//! other string instructions do (see [`crate::strings`]).

use super::ops::unreachable_op;
use super::Vm;
use crate::builtins::{eval_number, simple_case, Builtin};
use crate::heap::{str_size, Heap, Items, Object, OBJECT_BYTES};
use crate::limits::{Stop, Watch, CHUNK_BYTES};
use crate::module::TypeId;
use crate::stack::ValueStack;
use crate::strings::{find_watched, push_watched, str_chunks};
use crate::text;
use crate::trap::{Trap, TrapKind};
use crate::values::{Halt, Walk};
use compact_str::CompactString;
use std::sync::Arc;

impl Vm<'_> {
    #[inline(never)]
    pub(super) fn op_builtin<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        id: u16,
    ) -> Result<usize, Trap> {
        let b = Builtin::from_id(id).unwrap_or_else(|| unreachable_op());
        let base = sp - b.params().len();
        let mut args = [0u64; 3];
        args[..sp - base].copy_from_slice(&stack[base..sp]);
        let args = &args[..sp - base];
        let v = match eval_number(b, args) {
            Some(Ok(v)) => v,
            Some(Err(msg)) => return Err(self.fail(TrapKind::InvalidArgument, msg)),
            None => self.text_builtin::<METER>(stack, b, args)?,
        };
        stack[base] = v;
        Ok(base + 1)
    }

    fn text_builtin<const METER: bool>(
        &mut self,
        stack: &ValueStack,
        b: Builtin,
        args: &[u64],
    ) -> Result<u64, Trap> {
        let len = |vm: &Self, k: usize| vm.heap.str(args[k]).len();
        match b {
            _ if b.is_query() => {
                if let Some(cost) = query_cost(b, &self.heap, args) {
                    self.charge::<METER>(cost, 0)?;
                }
                let r = self.heap.text_query(b, args, &self.watch);
                match self.watched(r)? {
                    Ok(v) => Ok(v),
                    Err((kind, msg)) => Err(self.fail(kind, msg)),
                }
            }
            Builtin::IntError | Builtin::FloatError => {
                // The same checks and charges as `stoi` and `stof`, which
                // a program calls next if the message is empty.
                let s = self.heap.str(args[0]);
                let failed = if b == Builtin::IntError {
                    self.charge::<METER>(s.len(), 0)?;
                    let s = self.heap.str(args[0]);
                    let parsed = text::parse_int(s, &self.watch);
                    self.watched(parsed)?.err()
                } else {
                    self.charge::<METER>(s.len().min(text::MAX_FLOAT_TEXT), 0)?;
                    text::parse_float(self.heap.str(args[0])).err()
                };
                self.new_text(stack, failed.unwrap_or_default().into())
            }
            Builtin::Trim | Builtin::TrimStart | Builtin::TrimEnd => {
                self.charge::<METER>(len(self, 0), 0)?;
                let s = self.heap.str(args[0]);
                let start = if b == Builtin::TrimEnd {
                    0
                } else {
                    s.len() - s.trim_start().len()
                };
                let end = if b == Builtin::TrimStart {
                    s.len()
                } else {
                    s.trim_end().len()
                };
                let range = start..end.max(start);
                self.reserve(stack, str_size(range.len()))?;
                let r = self.heap.slice(args[0], range, &self.watch);
                self.watched(r)
            }
            Builtin::ToUpper | Builtin::ToLower => {
                self.charge::<METER>(2 * len(self, 0), 0)?;
                let upper = b == Builtin::ToUpper;
                let out = case_mapped(self.heap.str(args[0]), upper, &self.watch);
                let out = self.watched(out)?;
                self.new_text(stack, out)
            }
            Builtin::Replace => {
                let (from_len, to_len) = (len(self, 1), len(self, 2));
                self.charge::<METER>(len(self, 0) + from_len, 0)?;
                let (s, from) = (self.heap.str(args[0]), self.heap.str(args[1]));
                let s_len = s.len();
                // Matches first, so the result's size is known (and paid
                // for) before it is built.
                let matches = if from.is_empty() {
                    s.chars().count() + 1
                } else {
                    let n = count_matches(s, from, &self.watch);
                    self.watched(n)?
                };
                let total = (s_len - matches.min(s_len / from_len.max(1)) * from_len)
                    .saturating_add(matches.saturating_mul(to_len));
                self.charge::<METER>(total, 0)?;
                self.reserve(stack, str_size(total))?;
                let (s, from, to) = (
                    self.heap.str(args[0]),
                    self.heap.str(args[1]),
                    self.heap.str(args[2]),
                );
                let out = replaced(s, from, to, total, &self.watch);
                let out = self.watched(out)?;
                Ok(self.heap.alloc_text(out))
            }
            Builtin::Repeat => {
                let n = args[1] as i64;
                if n < 0 {
                    let msg = format!("negative repeat count: {n}");
                    return Err(self.fail(TrapKind::InvalidArgument, msg));
                }
                if len(self, 0) == 0 {
                    // Nothing to copy however many times (and no loop of
                    // i64::MAX empty copies).
                    self.reserve(stack, OBJECT_BYTES)?;
                    return Ok(self.heap.alloc_text(CompactString::default()));
                }
                let total = len(self, 0).saturating_mul(n as usize);
                self.charge::<METER>(total, 0)?;
                self.reserve(stack, str_size(total))?;
                let mut out = CompactString::default();
                if out.try_reserve(total).is_err() {
                    let msg = format!(
                        "out of memory: the host cannot allocate a string of {total} bytes"
                    );
                    return Err(self.fail(TrapKind::OutOfMemory, msg));
                }
                let r = repeated(&mut out, self.heap.str(args[0]), n, &self.watch);
                self.watched(r)?;
                Ok(self.heap.alloc_text(out))
            }
            Builtin::FromCode => {
                let cp = args[0] as i64;
                let Some(text) = text::char_text(cp) else {
                    let msg = format!("not a Unicode scalar value: {cp}");
                    return Err(self.fail(TrapKind::InvalidArgument, msg));
                };
                self.reserve(stack, OBJECT_BYTES)?;
                Ok(self.heap.alloc_text(text))
            }
            _ => unreachable_op(),
        }
    }

    /// `builtin.list`: `lines`, `chars`, `bytes`. A first pass counts the
    /// pieces and what they take on the heap, which is paid for and made
    /// room for before the second pass makes them (no collection can run
    /// between, so the pieces need no pinning).
    #[inline(never)]
    pub(super) fn op_builtin_list<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        id: u16,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        let b = Builtin::from_id(id).unwrap_or_else(|| unreachable_op());
        if b == Builtin::SplitN {
            return self.op_split_n::<METER>(stack, sp, ty);
        }
        let s = stack[sp - 1];
        let len = self.heap.str(s).len();
        self.charge::<METER>(2 * len, 0)?;
        let pieces = list_pieces(b, self.heap.str(s), &self.watch);
        let pieces = self.watched(pieces)?;
        let (n, bytes) = pieces;
        self.charge::<METER>(0, n)?;
        let strings = b != Builtin::Bytes;
        let need = OBJECT_BYTES
            .saturating_add(n.saturating_mul(8))
            .saturating_add(if strings { bytes } else { 0 });
        self.reserve(stack, need)?;
        let mut items: Vec<u64> = Vec::new();
        if items.try_reserve_exact(n).is_err() {
            let msg = format!("out of memory: the host cannot allocate an array of {n} elements");
            return Err(self.fail(TrapKind::OutOfMemory, msg));
        }
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
        let mut at = 0;
        while at < len {
            // A chunk of pieces at a time, so that the watch is looked at.
            ranges.clear();
            let text = self.heap.str(s);
            let stop = (at + CHUNK_BYTES).min(text.len());
            while at < stop {
                let r = next_piece(b, text, at);
                at = r.1;
                ranges.push(r.0);
            }
            for r in &ranges {
                let v = match b {
                    Builtin::Bytes => self.heap.str(s).as_bytes()[r.start] as u64,
                    _ => {
                        let piece = CompactString::from(&self.heap.str(s)[r.clone()]);
                        self.heap.alloc_text(piece)
                    }
                };
                items.push(v);
            }
            if at < self.heap.str(s).len() {
                if let Err(stop) = self.watch.check() {
                    return Err(self.stopped(stop));
                }
            }
        }
        stack[sp - 1] = self.heap.alloc(Object::Array {
            refs: self.prog.holds_refs(ty),
            items: Items::Words(items),
        });
        Ok(sp)
    }

    /// `text ty`: see [`crate::values`].
    #[inline(never)]
    pub(super) fn op_value_text<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        let prog = Arc::clone(&self.prog);
        let mut walk = self.walk::<METER>(prog.module(), self.limits.max_heap);
        let mut out = String::new();
        let r = walk.text(&mut out, ty, stack[sp - 1], 0);
        let units = walk.units();
        self.walk_result::<METER, _>(r, units)?;
        stack[sp - 1] = self.new_text(stack, CompactString::from(out))?;
        Ok(sp)
    }

    /// `eq ty`: see [`crate::values`].
    #[inline(never)]
    pub(super) fn op_value_eq<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        let prog = Arc::clone(&self.prog);
        let mut walk = self.walk::<METER>(prog.module(), usize::MAX);
        let r = walk.equal(ty, stack[sp - 2], stack[sp - 1], 0);
        let units = walk.units();
        let same = self.walk_result::<METER, _>(r, units)?;
        stack[sp - 2] = same as u64;
        Ok(sp - 1)
    }

    /// A walk over values of `module` that may use the fuel left and
    /// write at most `max_bytes` of text.
    pub(super) fn walk<'a, const METER: bool>(
        &'a self,
        module: &'a crate::module::Module,
        max_bytes: usize,
    ) -> Walk<'a> {
        let max_units = if METER {
            self.limits.fuel.saturating_sub(self.fuel_used)
        } else {
            u64::MAX
        };
        Walk::new(&self.heap, module, &self.watch, max_units, max_bytes)
    }

    /// Charges a walk's work, and turns why it stopped into a trap.
    pub(super) fn walk_result<const METER: bool, T>(
        &mut self,
        r: Result<T, Halt>,
        units: u64,
    ) -> Result<T, Trap> {
        if METER {
            self.add_work(units)?;
        }
        match r {
            Ok(v) => Ok(v),
            Err(Halt::Stop(s)) => Err(self.stopped(s)),
            Err(Halt::Fuel) => Err(self.fuel_trap()),
            Err(Halt::TooLarge(n)) => {
                let msg = format!(
                    "out of memory: heap limit of {} bytes exceeded (text of {n} bytes)",
                    self.limits.max_heap
                );
                Err(self.fail(TrapKind::OutOfMemory, msg))
            }
            Err(Halt::TooDeep) => Err(self.fail(
                TrapKind::InvalidArgument,
                format!(
                    "cannot compare values nested more than {} levels deep",
                    crate::values::MAX_DEPTH
                ),
            )),
        }
    }

    /// `s.split(sep, n)`: at most `n` pieces, the last holding the rest.
    /// The pieces are found (ranges, at most `n`), paid for and made room
    /// for, then made.
    fn op_split_n<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        let (s, sep, n) = (stack[sp - 3], stack[sp - 2], stack[sp - 1] as i64);
        if n < 1 {
            let msg = format!("split limit must be at least 1, got {n}");
            return Err(self.fail(TrapKind::InvalidArgument, msg));
        }
        let len = self.heap.str(s).len();
        self.charge::<METER>(2 * len + self.heap.str(sep).len(), 0)?;
        // Counted first (nothing kept per piece), paid for and made room
        // for, then made.
        let count = split_ranges(
            self.heap.str(s),
            self.heap.str(sep),
            n as u64,
            &self.watch,
            |_| {},
        );
        let (pieces, bytes) = self.watched(count)?;
        self.charge::<METER>(0, pieces)?;
        self.reserve(stack, OBJECT_BYTES + 8 * pieces + bytes)?;
        let mut ranges = Vec::with_capacity(pieces);
        let found = split_ranges(
            self.heap.str(s),
            self.heap.str(sep),
            n as u64,
            &self.watch,
            |r| ranges.push(r),
        );
        self.watched(found)?;
        let mut items = Vec::with_capacity(ranges.len());
        for r in ranges {
            let piece = CompactString::from(&self.heap.str(s)[r]);
            items.push(self.heap.alloc_text(piece));
        }
        stack[sp - 3] = self.heap.alloc(Object::Array {
            refs: self.prog.holds_refs(ty),
            items: Items::Words(items),
        });
        Ok(sp - 2)
    }

    /// Stores text built by a built-in, making room for it first (with
    /// no spare capacity: the heap accounts what the string holds).
    fn new_text(&mut self, stack: &ValueStack, mut text: CompactString) -> Result<u64, Trap> {
        text.shrink_to_fit();
        self.reserve(stack, str_size(text.len()))?;
        Ok(self.heap.alloc_text(text))
    }
}

/// What a string query ([`Builtin::is_query`]) charges for `args`: the
/// bytes it may read (a charge, even of none, is a point where fuel may
/// run out), or `None` where it makes no charge at all (`code_at`).
#[inline]
pub fn query_cost(b: Builtin, heap: &Heap, args: &[u64]) -> Option<usize> {
    let len = |k: usize| heap.str(args[k]).len();
    Some(match b {
        Builtin::Contains | Builtin::RFind => len(0) + len(1),
        Builtin::StartsWith | Builtin::EndsWith => len(1),
        Builtin::Compare => len(0).min(len(1)),
        Builtin::CharCount => len(0),
        _ => return None,
    })
}

impl Heap {
    /// What string query `b` ([`Builtin::is_query`]) answers for
    /// `args`, its cost charged, looking at `watch` between chunks of
    /// long text: the value, or the runtime error's kind and message. The
    /// interpreter's code for these built-ins, and compiled code's.
    #[inline]
    pub fn text_query(
        &self,
        b: Builtin,
        args: &[u64],
        watch: &Watch,
    ) -> Result<Result<u64, (TrapKind, String)>, Stop> {
        let s = self.str(args[0]);
        let other = || self.str(args[1]);
        Ok(Ok(match b {
            Builtin::Contains => find_watched(s, other(), watch)?.is_some() as u64,
            Builtin::RFind => rfind_watched(s, other(), watch)?.map_or(-1, |i| i as i64) as u64,
            Builtin::StartsWith => s.as_bytes().starts_with(other().as_bytes()) as u64,
            Builtin::EndsWith => s.as_bytes().ends_with(other().as_bytes()) as u64,
            Builtin::Compare => self.str_cmp(args[0], args[1], watch)? as i8 as i64 as u64,
            Builtin::CharCount => char_count(s, watch)? as u64,
            Builtin::CodeAt => {
                let i = args[1] as i64;
                let Some(at) = usize::try_from(i).ok().filter(|&i| i < s.len()) else {
                    let msg = format!("index {i} out of bounds for length {}", s.len());
                    return Ok(Err((TrapKind::IndexOutOfBounds, msg)));
                };
                match s.get(at..).and_then(|rest| rest.chars().next()) {
                    Some(c) => c as u64,
                    None => {
                        let msg = format!("byte {at} is not at a character boundary");
                        return Ok(Err((TrapKind::InvalidArgument, msg)));
                    }
                }
            }
            _ => unreachable_op(),
        }))
    }
}

/// The byte offset of the last occurrence of `needle` in `hay`, looking
/// at the watch between chunks.
fn rfind_watched(hay: &str, needle: &str, watch: &Watch) -> Result<Option<usize>, Stop> {
    let step = CHUNK_BYTES.max(needle.len());
    if watch.is_idle() || hay.len() <= step {
        return Ok(hay.rfind(needle));
    }
    let mut end = hay.len();
    while end > 0 {
        if end < hay.len() {
            watch.check()?;
        }
        let mut start = end.saturating_sub(step);
        while !hay.is_char_boundary(start) {
            start -= 1;
        }
        // Matches starting in `start..end` (later ones were looked for
        // already) end before `end + needle.len()`.
        let mut top = (end + needle.len()).min(hay.len());
        while !hay.is_char_boundary(top) {
            top -= 1;
        }
        if let Some(i) = hay[start..top].rfind(needle) {
            return Ok(Some(start + i));
        }
        end = start;
    }
    Ok(None)
}

/// Each character of `s` case-mapped (see [`simple_case`]).
fn case_mapped(s: &str, upper: bool, watch: &Watch) -> Result<CompactString, Stop> {
    let mut out = CompactString::with_capacity(s.len());
    for (i, chunk) in str_chunks(s).enumerate() {
        if i > 0 {
            watch.check()?;
        }
        out.extend(chunk.chars().map(|c| simple_case(c, upper)));
    }
    Ok(out)
}

/// Non-overlapping occurrences of `needle` (not empty), left to right.
fn count_matches(s: &str, needle: &str, watch: &Watch) -> Result<usize, Stop> {
    let (mut n, mut at) = (0, 0);
    while let Some(i) = find_watched(&s[at..], needle, watch)? {
        n += 1;
        at += i + needle.len();
        if n % 4096 == 0 {
            watch.check()?;
        }
    }
    Ok(n)
}

/// `s` with every `from` replaced by `to`: `total` bytes.
fn replaced(
    s: &str,
    from: &str,
    to: &str,
    total: usize,
    watch: &Watch,
) -> Result<CompactString, Stop> {
    let mut out = CompactString::with_capacity(total);
    if from.is_empty() {
        out.push_str(&s.replace(from, to));
        return Ok(out);
    }
    let (mut at, mut since_check) = (0, 0);
    while let Some(i) = s[at..].find(from) {
        out.push_str(&s[at..at + i]);
        out.push_str(to);
        since_check += i + to.len() + from.len();
        at += i + from.len();
        if since_check > CHUNK_BYTES {
            since_check = 0;
            watch.check()?;
        }
    }
    push_watched(&mut out, &s[at..], watch)?;
    Ok(out)
}

/// Appends `s` to `out` `n` times.
fn repeated(out: &mut CompactString, s: &str, n: i64, watch: &Watch) -> Result<(), Stop> {
    let mut since_check = 0;
    for _ in 0..n {
        out.push_str(s);
        // Counts calls too, so a million copies of "" still look.
        since_check += s.len() + 1;
        if since_check > CHUNK_BYTES {
            since_check = 0;
            watch.check()?;
        }
    }
    Ok(())
}

fn char_count(s: &str, watch: &Watch) -> Result<usize, Stop> {
    let mut n = 0;
    for (i, chunk) in str_chunks(s).enumerate() {
        if i > 0 {
            watch.check()?;
        }
        n += chunk.chars().count();
    }
    Ok(n)
}

/// The piece of `text` a list built-in makes starting at byte `at`: its
/// range and where the next one starts.
fn next_piece(b: Builtin, text: &str, at: usize) -> (std::ops::Range<usize>, usize) {
    match b {
        Builtin::Bytes => (at..at + 1, at + 1),
        Builtin::Chars => {
            let n = text[at..].chars().next().map_or(1, char::len_utf8);
            (at..at + n, at + n)
        }
        _ => match text[at..].find('\n').map(|i| at + i) {
            // A line ends at `\n`, and a `\r` just before it goes too.
            Some(nl) => {
                let end = if nl > at && text.as_bytes()[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                (at..end, nl + 1)
            }
            None => (at..text.len(), text.len()),
        },
    }
}

/// How many pieces a list built-in makes of `s`, and the accounted bytes
/// of their strings.
fn list_pieces(b: Builtin, s: &str, watch: &Watch) -> Result<(usize, usize), Stop> {
    let (mut n, mut bytes, mut at) = (0usize, 0usize, 0usize);
    let mut since = 0;
    while at < s.len() {
        let (r, next) = next_piece(b, s, at);
        n += 1;
        bytes = bytes.saturating_add(str_size(r.len()));
        since += next - at;
        at = next;
        if since > CHUNK_BYTES {
            since = 0;
            watch.check()?;
        }
    }
    Ok((n, bytes))
}

/// Calls `piece` with the byte range of each of at most `n` pieces of `s`
/// split by `sep` (an empty `sep` splits into characters; the last piece
/// holds the rest); the count of pieces and their strings' accounted size.
fn split_ranges(
    s: &str,
    sep: &str,
    n: u64,
    watch: &Watch,
    mut piece: impl FnMut(std::ops::Range<usize>),
) -> Result<(usize, usize), Stop> {
    let (mut count, mut bytes) = (0usize, 0usize);
    let mut pos = Some(0);
    while let Some(at) = pos {
        let (r, next) = if count as u64 + 1 == n {
            (at..s.len(), None)
        } else {
            match crate::strings::next_piece(s, sep, at) {
                Some(p) => p,
                // Only splitting "" by "": no pieces at all.
                None => break,
            }
        };
        count += 1;
        bytes = bytes.saturating_add(str_size(r.len()));
        piece(r);
        pos = next;
        if count % 1024 == 0 {
            watch.check()?;
        }
    }
    Ok((count, bytes))
}
