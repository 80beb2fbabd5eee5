//! Abstract interpretation of one function, with its cost bounded.
//!
//! The code is cut into basic blocks (one starts at instruction 0, at every
//! jump target, and after every branch, jump and return), and an abstract
//! state is kept at the start of each reachable block: the types on the
//! operand stack and the set of initialized locals, a bitset. Stack types
//! never change once a block has a state (where paths merge they must be
//! equal); the set only shrinks (merging is intersection).
//!
//! Blocks to run are taken in the reverse post-order of the control-flow
//! graph, round and round until none is left; running a block records the
//! stack map of each safepoint in it and merges its final state into its
//! successors, which are then due to run if their state changed. In a
//! reducible graph (all structured code) a block is first reached only
//! after every predecessor along a forward edge has run, and every other
//! edge is a back edge from a block it dominates, whose set is a superset
//! of its own: a block's state is final when it first runs, and each block
//! runs once. Only an irreducible graph, which hand-made code alone has,
//! makes a block run again, once for each time its set shrinks.
//!
//! Every unit of work (an instruction interpreted, a slot popped, a word of
//! state copied, compared, merged or scanned for a stack map, a block run)
//! is counted against the function's budget, [`WORK_PER_BYTE`] units per
//! byte it takes in a file, before it is done: the analysis stops at the
//! budget. The memory kept is bounded by [`MAX_VERIFY_CELLS`] (states) and
//! [`MAX_STACK_MAP_ENTRIES`] (stack maps), besides a few words per
//! instruction.

use super::rules::{type_name, Ctx};
use super::{
    FuncInfo, FunctionStats, Safepoint, VerifyError, VerifyErrorKind, VerifyStats,
    MAX_STACK_MAP_ENTRIES, MAX_VERIFY_CELLS, NO_OWNER, WORK_PER_BYTE,
};
use crate::format::{code_len, limits::MAX_STACK};
use crate::module::*;
use crate::opcodes::Instr;

/// The abstract state before an instruction.
#[derive(Default)]
pub(super) struct State {
    pub stack: Vec<TypeId>,
    /// Bit `l % 64` of word `l / 64` is set when local `l` is initialized
    /// on every path to here.
    init: Vec<u64>,
}

impl State {
    /// Whether local `local` (in range) is initialized.
    pub fn is_init(&self, local: u16) -> bool {
        let l = local as usize;
        self.init
            .get(l / 64)
            .is_some_and(|w| w >> (l % 64) & 1 != 0)
    }

    pub fn set_init(&mut self, local: u16) {
        let l = local as usize;
        if let Some(w) = self.init.get_mut(l / 64) {
            *w |= 1 << (l % 64);
        }
    }

    /// Words of state: the work of copying or comparing it.
    fn words(&self) -> u64 {
        (self.stack.len() + self.init.len()) as u64
    }
}

/// No block, or no state yet.
const NONE: u32 = u32::MAX;

/// Where a block's state is kept: its stack at `stacks[stack..][..height]`,
/// its initialized-locals words from `inits[init]`.
#[derive(Clone, Copy)]
struct Kept {
    stack: u32,
    height: u32,
    init: u32,
}

impl Kept {
    const NONE: Kept = Kept {
        stack: 0,
        height: 0,
        init: NONE,
    };
}

// Work units, weighted so that each takes about the same time (5 to 20
// machine instructions on x86-64): the budget bounds time, not just steps.
/// Per instruction, to cut the code into blocks; per block, to order them.
const SCAN: u64 = 2;
/// Interpreting an instruction, besides one unit per slot it pops.
const STEP: u64 = 8;
/// Running a block, besides one unit per word of its entry state.
const BLOCK: u64 = 24;
/// Merging a state into a successor, besides one unit per word of it.
const EDGE: u64 = 8;
/// Recording a stack map, besides one unit per word of the state and
/// per entry.
const SAFEPOINT: u64 = 8;

/// One function's analysis.
struct Analysis<'a> {
    m: &'a Module,
    f: &'a Function,
    index: u32,
    ctx: Ctx<'a>,
    infer: bool,
    /// First instruction of each block, ascending, then the code length.
    start: Vec<u32>,
    /// For each block, the blocks it can go to (`NONE` for neither).
    succ: Vec<[u32; 2]>,
    /// For each block, its position in reverse post-order (`NONE` if it
    /// is unreachable).
    rpo_of: Vec<u32>,
    /// The blocks to run, by position in reverse post-order.
    dirty: Worklist,
    /// For each block with a state, where it is kept (`kept[b].init` is
    /// `NONE` for a block without one).
    kept: Vec<Kept>,
    /// The stacks and initialized-locals words of the states kept, one
    /// after the other (a stack never changes once kept; the words do).
    stacks: Vec<TypeId>,
    inits: Vec<u64>,
    /// The state while a block runs (one buffer for all).
    scratch: State,
    /// For each block, the stack maps of its safepoints from its last run.
    maps: Vec<Vec<Safepoint>>,
    /// Bit set for each local slot of a reference type.
    ref_mask: Vec<u64>,
    /// Maximum stack height seen.
    max_seen: usize,
    /// The stack height before each instruction reached.
    heights: Vec<u32>,
    /// The struct type each field access reached reads or writes a field of.
    owners: Vec<u16>,
    /// Whether each element access or length reached is of a `[bool]`.
    byte_elements: Vec<bool>,
    work: u64,
    limit: u64,
    /// Cells of the states kept.
    cells: usize,
    /// Stack-map entries held in `maps`.
    entries: usize,
}

/// Verifies function `index`, which takes `bytes` bytes encoded, adding
/// what it cost to `stats`.
pub(super) fn verify_function(
    m: &Module,
    index: u32,
    f: &Function,
    bytes: usize,
    infer: bool,
    stats: &mut VerifyStats,
) -> Result<FuncInfo, VerifyError> {
    let limit = WORK_PER_BYTE * bytes as u64;
    let mut a = Analysis {
        m,
        f,
        index,
        ctx: Ctx {
            m,
            f,
            slots: Vec::new(),
        },
        infer,
        start: Vec::new(),
        succ: Vec::new(),
        rpo_of: Vec::new(),
        dirty: Worklist::new(0),
        kept: Vec::new(),
        stacks: Vec::new(),
        inits: Vec::new(),
        scratch: State::default(),
        maps: Vec::new(),
        ref_mask: Vec::new(),
        max_seen: 0,
        heights: vec![NONE; f.code.len()],
        owners: vec![NO_OWNER; f.code.len()],
        byte_elements: vec![false; f.code.len()],
        work: 0,
        limit,
        cells: 0,
        entries: 0,
    };
    let r = a.run();
    stats.functions.push(FunctionStats {
        work: a.work,
        budget: limit,
    });
    r
}

impl Analysis<'_> {
    fn fail(&self, at: Option<usize>, message: String) -> VerifyError {
        VerifyError {
            func: Some((self.index, self.f.name.clone())),
            offset: at.map(|i| offset(&self.f.code, i)),
            message,
            kind: VerifyErrorKind::Invalid,
        }
    }

    fn too_complex(&self, at: usize, why: &str) -> VerifyError {
        VerifyError {
            kind: VerifyErrorKind::TooLarge,
            ..self.fail(
                Some(at),
                format!("function is too complex to verify ({why})"),
            )
        }
    }

    /// Counts `units` of work about to be done at instruction `at`; fails,
    /// without counting them, if they would pass the budget.
    #[inline]
    fn charge(&mut self, at: usize, units: u64) -> Result<(), VerifyError> {
        if self.work + units > self.limit {
            return Err(self.over_budget(at));
        }
        self.work += units;
        Ok(())
    }

    #[cold]
    fn over_budget(&self, at: usize) -> VerifyError {
        self.too_complex(
            at,
            &format!(
                "it needs more than {} units of verification work, {WORK_PER_BYTE} per byte of the function",
                self.limit
            ),
        )
    }

    fn run(&mut self) -> Result<FuncInfo, VerifyError> {
        let (m, f) = (self.m, self.f);
        let nslots = f.num_slots();
        let words = nslots.div_ceil(64);
        self.charge(0, SCAN * (f.code.len() + nslots) as u64)?;
        self.ctx.slots = f.slot_types().collect();
        self.ref_mask = vec![0; words];
        for (k, t) in self.ctx.slots.iter().enumerate() {
            if m.is_ref(*t) {
                self.ref_mask[k / 64] |= 1 << (k % 64);
            }
        }
        self.find_blocks()?;
        let order = self.reverse_post_order()?;
        let nb = self.succ.len();
        self.rpo_of = vec![NONE; nb];
        for (pos, &b) in order.iter().enumerate() {
            self.rpo_of[b as usize] = pos as u32;
        }
        self.kept = vec![Kept::NONE; nb];
        self.maps = vec![Vec::new(); nb];
        self.dirty = Worklist::new(order.len());

        let mut entry = State {
            stack: Vec::new(),
            init: vec![0; words],
        };
        for p in 0..f.params.len() {
            entry.set_init(p as u16);
        }
        self.keep(0, 0, &entry)?;
        // Every state has `words` words of initialized-locals bits.
        self.scratch = entry;
        self.dirty.add(0);
        // Positions are taken in order, round and round until none is left
        // (one round for reducible code).
        let mut cursor = 0;
        while let Some((pos, scanned)) = self.dirty.take_from(cursor) {
            let b = order[pos] as usize;
            self.charge(self.start[b] as usize, scanned)?;
            self.run_block(b)?;
            cursor = pos + 1;
        }
        // Each block's maps are from its run with its final state; in block
        // order they ascend by instruction.
        let safepoints: Vec<Safepoint> = std::mem::take(&mut self.maps)
            .into_iter()
            .flatten()
            .collect();
        debug_assert!(safepoints.windows(2).all(|w| w[0].0 < w[1].0));
        Ok(FuncInfo {
            safepoints,
            max_stack: self.max_seen as u32,
            heights: std::mem::take(&mut self.heights),
            owners: std::mem::take(&mut self.owners),
            byte_elements: std::mem::take(&mut self.byte_elements),
        })
    }

    /// Cuts the code into blocks; checks every jump target, reachable or
    /// not.
    fn find_blocks(&mut self) -> Result<(), VerifyError> {
        let code = &self.f.code;
        let n = code.len();
        let mut starts = vec![false; n + 1];
        starts[0] = true;
        for (i, ins) in code.iter().enumerate() {
            let target = ins.target();
            if let Some(t) = target {
                if t as usize >= n {
                    return Err(self.fail(Some(i), format!("jump target {t} out of range")));
                }
                starts[t as usize] = true;
            }
            if target.is_some() || !ins.falls_through() {
                starts[i + 1] = true;
            }
        }
        let mut block_at = vec![NONE; n];
        for (i, _) in starts[..n].iter().enumerate().filter(|(_, s)| **s) {
            block_at[i] = self.start.len() as u32;
            self.start.push(i as u32);
        }
        self.start.push(n as u32);
        // Where each block's last instruction jumps, then the next block if
        // it falls through.
        self.succ = self.start[1..]
            .iter()
            .enumerate()
            .map(|(b, &end)| {
                let ins = &code[end as usize - 1];
                let jump = ins.target().map_or(NONE, |t| block_at[t as usize]);
                let next = if ins.falls_through() && (end as usize) < n {
                    b as u32 + 1
                } else {
                    NONE
                };
                [jump, next]
            })
            .collect();
        Ok(())
    }

    /// The reachable blocks in reverse post-order of a depth-first search
    /// from block 0.
    fn reverse_post_order(&mut self) -> Result<Vec<u32>, VerifyError> {
        let nb = self.succ.len();
        self.charge(0, SCAN * nb as u64)?;
        let mut seen = vec![false; nb];
        let mut post = Vec::new();
        // (block, successors looked at)
        let mut path = vec![(0usize, 0usize)];
        seen[0] = true;
        while let Some(&(b, k)) = path.last() {
            if k == 2 {
                post.push(b as u32);
                path.pop();
                continue;
            }
            let top = path.len() - 1;
            path[top].1 += 1;
            let s = self.succ[b][k];
            if s != NONE && !seen[s as usize] {
                seen[s as usize] = true;
                path.push((s as usize, 0));
            }
        }
        post.reverse();
        Ok(post)
    }

    /// Keeps `s` as the state of block `b` (which has none), within the
    /// memory budget.
    fn keep(&mut self, at: usize, b: usize, s: &State) -> Result<(), VerifyError> {
        self.cells += 16 + s.stack.len() + 2 * s.init.len();
        if self.cells > MAX_VERIFY_CELLS {
            return Err(self.too_complex(at, "too many branches times stack and local slots"));
        }
        // Within the cap, both arenas' lengths fit a u32.
        self.kept[b] = Kept {
            stack: self.stacks.len() as u32,
            height: s.stack.len() as u32,
            init: self.inits.len() as u32,
        };
        self.stacks.extend_from_slice(&s.stack);
        self.inits.extend_from_slice(&s.init);
        Ok(())
    }

    /// Merges `s`, the state at the end of instruction `from`, into block
    /// `to`, which is queued to run if its state changed.
    fn merge(&mut self, from: usize, to: usize, s: &State) -> Result<(), VerifyError> {
        self.charge(from, EDGE + s.words())?;
        let k = self.kept[to];
        if k.init == NONE {
            self.keep(from, to, s)?;
            self.dirty.add(self.rpo_of[to] as usize);
            return Ok(());
        }
        let stack = &self.stacks[k.stack as usize..][..k.height as usize];
        if stack != s.stack {
            let at = offset(&self.f.code, self.start[to] as usize);
            let message = stack_mismatch(self.m, at, stack, &s.stack);
            return Err(self.fail(Some(from), message));
        }
        let mut lost = 0;
        let init = &mut self.inits[k.init as usize..][..s.init.len()];
        for (a, b) in init.iter_mut().zip(&s.init) {
            lost |= *a & !*b;
            *a &= *b;
        }
        if lost != 0 {
            self.dirty.add(self.rpo_of[to] as usize);
        }
        Ok(())
    }

    /// Interprets block `b` from its state, recording the stack map of
    /// each safepoint, and merges the state at its end into its successors.
    fn run_block(&mut self, b: usize) -> Result<(), VerifyError> {
        let (start, end) = (self.start[b] as usize, self.start[b + 1] as usize);
        let k = self.kept[b];
        let words = self.scratch.init.len() as u64 + k.height as u64;
        self.charge(start, BLOCK + words)?;
        let mut s = std::mem::take(&mut self.scratch);
        s.stack.clear();
        s.stack
            .extend_from_slice(&self.stacks[k.stack as usize..][..k.height as usize]);
        let n = s.init.len();
        s.init.copy_from_slice(&self.inits[k.init as usize..][..n]);
        let mut maps = std::mem::take(&mut self.maps[b]);
        self.entries -= maps.iter().map(|(_, r)| r.len()).sum::<usize>();
        maps.clear();
        let f = self.f;
        for (i, ins) in f.code.iter().enumerate().take(end).skip(start) {
            if ins.opcode().is_safepoint() {
                self.record(i, &s, &mut maps)?;
            }
            let before = s.stack.len();
            self.heights[i] = before as u32;
            // The struct a field access's object is of (`step` checks it
            // is one). A type number that does not fit below `NO_OWNER`
            // (there may be a few past 2^16) is recorded as not known:
            // cut down, two structs could share a number.
            let object = match ins {
                Instr::GetField { .. } => before.checked_sub(1),
                Instr::SetField { .. } => before.checked_sub(2),
                _ => None,
            };
            if let Some(&t) = object.and_then(|k| s.stack.get(k)) {
                self.owners[i] = owner_of(t);
            }
            // Whether an element access's or length's array is a `[bool]`
            // (whose elements are bytes: `step` checks it is an array).
            let array = match ins {
                Instr::ALen {} => before.checked_sub(1),
                Instr::AGet {} => before.checked_sub(2),
                Instr::ASet {} => before.checked_sub(3),
                _ => None,
            };
            if let Some(&t) = array.and_then(|k| s.stack.get(k)) {
                self.byte_elements[i] = self.m.ty(t) == &TypeDesc::Array(BOOL);
            }
            self.ctx
                .step(&mut s, ins)
                .map_err(|e| self.fail(Some(i), e))?;
            let mut units = STEP + before.saturating_sub(s.stack.len()) as u64;
            if let Instr::NewClosure { func, .. } = *ins {
                // It compares two signatures.
                units += self
                    .m
                    .functions
                    .get(func as usize)
                    .map_or(0, |c| c.params.len()) as u64;
            }
            self.charge(i, units)?;
            if s.stack.len() > before {
                self.grew(i, s.stack.len())?;
            }
        }
        self.maps[b] = maps;
        let last = end - 1;
        if f.code[last].falls_through() && end == f.code.len() {
            return Err(self.fail(
                Some(last),
                "control falls off the end of the function".into(),
            ));
        }
        for to in self.succ[b] {
            if to != NONE {
                self.merge(last, to as usize, &s)?;
            }
        }
        self.scratch = s;
        Ok(())
    }

    /// Checks the stack height `height` reached at instruction `i`.
    fn grew(&mut self, i: usize, height: usize) -> Result<(), VerifyError> {
        self.max_seen = self.max_seen.max(height);
        if !self.infer && height > self.f.max_stack as usize {
            return Err(self.fail(
                Some(i),
                format!(
                    "stack height {height} exceeds the declared max stack {}",
                    self.f.max_stack
                ),
            ));
        }
        if height > MAX_STACK as usize {
            return Err(VerifyError {
                kind: VerifyErrorKind::StackTooDeep,
                ..self.fail(Some(i), "stack height exceeds the format limit".into())
            });
        }
        Ok(())
    }

    /// Records which slots hold references before safepoint `i`.
    fn record(
        &mut self,
        i: usize,
        s: &State,
        maps: &mut Vec<Safepoint>,
    ) -> Result<(), VerifyError> {
        self.charge(i, SAFEPOINT + s.words())?;
        let mut refs = Vec::new();
        for (w, (bits, mask)) in s.init.iter().zip(&self.ref_mask).enumerate() {
            let mut x = bits & mask;
            while x != 0 {
                refs.push((w * 64) as u32 + x.trailing_zeros());
                x &= x - 1;
            }
        }
        let nslots = self.ctx.slots.len();
        for (k, t) in s.stack.iter().enumerate() {
            if self.m.is_ref(*t) {
                refs.push((nslots + k) as u32);
            }
        }
        self.charge(i, refs.len() as u64)?;
        self.entries += refs.len();
        if self.entries > MAX_STACK_MAP_ENTRIES {
            return Err(self.too_complex(i, "its stack maps are too large"));
        }
        maps.push((i as u32, refs.into_boxed_slice()));
        Ok(())
    }
}

/// The byte offset of instruction `i` (computed only for an error: the
/// code is within the format's size limit, so it fits a u32).
fn offset(code: &[Instr], i: usize) -> u32 {
    code_len(&code[..i]) as u32
}

/// The error for stacks `a` (kept at the merge point at byte `at`) and `b`
/// (arriving) that differ: both in full if they are short, else where they
/// first differ.
fn stack_mismatch(m: &Module, at: u32, a: &[TypeId], b: &[TypeId]) -> String {
    const SHOWN: usize = 16;
    let show = |st: &[TypeId]| {
        st.iter()
            .map(|t| type_name(m, *t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if a.len() <= SHOWN && b.len() <= SHOWN {
        return format!(
            "stack mismatch at merge point {at}: [{}] versus [{}]",
            show(a),
            show(b)
        );
    }
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(k) => format!(
            "stack mismatch at merge point {at}: slot {k} is {} versus {}",
            type_name(m, a[k]),
            type_name(m, b[k])
        ),
        None => format!(
            "stack mismatch at merge point {at}: heights {} versus {}",
            a.len(),
            b.len()
        ),
    }
}

/// A set of block positions, taken in ascending order from a cursor that
/// wraps around.
struct Worklist {
    bits: Vec<u64>,
    len: usize,
}

impl Worklist {
    fn new(n: usize) -> Worklist {
        Worklist {
            bits: vec![0; n.div_ceil(64)],
            len: 0,
        }
    }

    fn add(&mut self, pos: usize) {
        let w = &mut self.bits[pos / 64];
        let bit = 1 << (pos % 64);
        if *w & bit == 0 {
            *w |= bit;
            self.len += 1;
        }
    }

    /// Removes and returns the first position at or after `from` (or,
    /// if there is none, the first of all), with the number of words
    /// looked at to find it.
    fn take_from(&mut self, from: usize) -> Option<(usize, u64)> {
        if self.len == 0 {
            return None;
        }
        let n = self.bits.len();
        let mut w = from / 64 % n.max(1);
        // Bits below `from` in its word wait for the next round.
        let mut mask = if from / 64 < n {
            !0u64 << (from % 64)
        } else {
            !0
        };
        let mut scanned = 1;
        loop {
            let x = self.bits[w] & mask;
            if x != 0 {
                let bit = x.trailing_zeros() as usize;
                self.bits[w] &= !(1 << bit);
                self.len -= 1;
                return Some((w * 64 + bit, scanned));
            }
            w = (w + 1) % n;
            mask = !0;
            scanned += 1;
        }
    }
}

/// [`FuncInfo::owners`]' number for struct type `t`: `NO_OWNER` where
/// it does not fit below it.
fn owner_of(t: TypeId) -> u16 {
    u16::try_from(t)
        .ok()
        .filter(|&t| t != NO_OWNER)
        .unwrap_or(NO_OWNER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_numbers_that_do_not_fit_are_no_owner() {
        assert_eq!(owner_of(7), 7);
        assert_eq!(owner_of(65_534), 65_534);
        // Not cut down to another struct's number.
        assert_eq!(owner_of(65_535), NO_OWNER);
        assert_eq!(owner_of(65_536), NO_OWNER);
        assert_eq!(owner_of(65_540), NO_OWNER);
    }
}
