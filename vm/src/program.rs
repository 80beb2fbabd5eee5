//! A verified program: the module, what verification proved about it, and
//! the facts execution needs, all computed once when it is loaded.
//!
//! [`Program`] is opaque: nothing outside the crate can change its code or
//! tables after verification, so what runs is exactly what was verified.
//! Every run-time fact an instruction needs about a type (whether an
//! array, map or cell holds references, a record's layout and field
//! counts) comes from the instruction's type operand through
//! `Program::holds_refs` and `Program::shape`, never from the values at
//! hand.

use crate::heap::GcInfo;
use crate::internal::{Code, Op};
use crate::module::*;
use crate::verify::{self, VerifyError};

/// A module that passed verification, with what execution needs from it.
///
/// What was verified is what runs: the module can be read, never replaced
/// or changed.
///
/// ```
/// let p = tern_vm::Program::new(tern_vm::Module::new()).unwrap();
/// assert!(p.module().functions.is_empty());
/// ```
///
/// ```compile_fail
/// let mut p = tern_vm::Program::new(tern_vm::Module::new()).unwrap();
/// p.module = tern_vm::Module::new();
/// ```
///
/// ```compile_fail
/// let mut p = tern_vm::Program::new(tern_vm::Module::new()).unwrap();
/// p.module().functions.clear();
/// ```
pub struct Program {
    module: Module,
    pub(crate) gc: GcInfo,
    /// What a call needs to know about each function, kept compact.
    pub(crate) meta: Vec<FnMeta>,
    /// For each type id, what `struct.new` and `enum.new` need: the layout
    /// and the field count of each variant (one entry for a struct; none
    /// for types that are not records).
    shapes: Vec<(u32, Box<[u32]>)>,
    /// For each type id: whether an array of it holds references in its
    /// elements, a map in its values, a cell in its content.
    holds_refs: Vec<bool>,
    /// For each type id: whether it is `[bool]`, whose elements are
    /// bytes (see `heap::Items`).
    byte_items: Vec<bool>,
    /// Per function, what its internal code says about canonical code
    /// (see `translate`); the instructions themselves are in `ops`.
    code: Vec<Code>,
    /// The internal code of every function, one after the other (function
    /// `f` from `meta[f].start`), with jump targets and frame `pc`s indexing
    /// this whole array: a call or return changes the index, not the
    /// array. [`Code::counts`] and [`Code::sp`] are moved alongside.
    pub(crate) ops: Vec<Op>,
    pub(crate) counts: Vec<u8>,
    pub(crate) sps: Vec<u32>,
    /// The constant divisors the code divides by (see `divisor`).
    pub(crate) divisors: Vec<crate::divisor::Divisor>,
}

/// Per-function facts the call and return paths read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FnMeta {
    pub params: u32,
    pub slots: u32,
    /// Slots per frame: locals plus the operand stack.
    pub frame_size: u32,
    pub returns_value: bool,
    /// Where the function's code starts in [`Program::ops`].
    pub start: u32,
}

impl Program {
    /// Verifies `module`; nothing can run without passing through here.
    /// Its code is then translated for the interpreter (see `translate`).
    pub fn new(module: Module) -> Result<Program, VerifyError> {
        Program::load(module, true)
    }

    /// [`Program::new`] translating each canonical instruction to itself:
    /// the interpreter runs the verified code as it is. For tests that
    /// translation changes nothing a program does.
    #[doc(hidden)]
    pub fn new_untranslated(module: Module) -> Result<Program, VerifyError> {
        Program::load(module, false)
    }

    fn load(module: Module, fuse: bool) -> Result<Program, VerifyError> {
        // The verifier's facts (stack heights and maps) go into the
        // translated code; only that is kept.
        let info = verify::verify(&module)?;
        let (mut code, divisors) = crate::translate::translate(&module, &info, fuse);
        let (mut ops, mut counts, mut sps) = (Vec::new(), Vec::new(), Vec::new());
        let mut starts = Vec::with_capacity(code.len());
        for c in &mut code {
            let start = ops.len() as u32;
            starts.push(start);
            for mut op in std::mem::take(&mut c.ops) {
                if let Some(t) = op.target_mut() {
                    *t += start;
                }
                ops.push(op);
            }
            counts.append(&mut c.counts);
            sps.append(&mut c.sp);
        }
        let record_refs = module
            .layouts
            .iter()
            .map(|l| match l {
                Layout::Struct { fields, .. } => {
                    vec![fields.iter().map(|f| module.is_ref(f.ty)).collect()]
                }
                Layout::Enum { variants, .. } => variants
                    .iter()
                    .map(|v| v.fields.iter().map(|t| module.is_ref(*t)).collect())
                    .collect(),
            })
            .collect();
        let capture_refs = module
            .functions
            .iter()
            .map(|f| f.captures.iter().map(|t| module.is_ref(*t)).collect())
            .collect();
        let meta = module
            .functions
            .iter()
            .zip(&info)
            .zip(&starts)
            .map(|((f, i), &start)| FnMeta {
                start,
                params: f.params.len() as u32,
                slots: f.num_slots() as u32,
                frame_size: (f.num_slots() + i.max_stack as usize) as u32,
                returns_value: f.ret != UNIT,
            })
            .collect();
        let shapes = module
            .types
            .iter()
            .map(|t| match t {
                TypeDesc::Struct(l) | TypeDesc::Enum(l) => {
                    let counts = match &module.layouts[*l as usize] {
                        Layout::Struct { fields, .. } => vec![fields.len() as u32],
                        Layout::Enum { variants, .. } => {
                            variants.iter().map(|v| v.fields.len() as u32).collect()
                        }
                    };
                    (*l, counts.into_boxed_slice())
                }
                _ => (u32::MAX, Box::default()),
            })
            .collect();
        let holds_refs = module
            .types
            .iter()
            .map(|t| match t {
                TypeDesc::Array(e) | TypeDesc::Cell(e) | TypeDesc::Map(_, e) => module.is_ref(*e),
                _ => false,
            })
            .collect();
        let byte_items = module
            .types
            .iter()
            .map(|t| matches!(t, TypeDesc::Array(e) if module.types.get(*e as usize) == Some(&TypeDesc::Bool)))
            .collect();
        Ok(Program {
            byte_items,
            module,
            code,
            ops,
            counts,
            sps,
            divisors,
            shapes,
            holds_refs,
            gc: GcInfo {
                record_refs,
                capture_refs,
            },
            meta,
        })
    }

    /// The verified module, read-only, as loaded.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// What the internal code of function `func` says about canonical
    /// code (its instructions are [`Program::ops_of`]).
    pub fn code(&self, func: u32) -> &Code {
        &self.code[func as usize]
    }

    /// The internal code of function `func`, as it runs (jump targets
    /// index the whole program's code: see [`Program::start_of`]).
    pub fn ops_of(&self, func: u32) -> &[Op] {
        &self.ops[self.range_of(func)]
    }

    /// How many canonical instructions each of `ops_of(func)` stands for.
    pub fn counts_of(&self, func: u32) -> &[u8] {
        &self.counts[self.range_of(func)]
    }

    /// Where function `func`'s code lies in the program's code: from its
    /// start to the next function's.
    fn range_of(&self, func: u32) -> std::ops::Range<usize> {
        let end = self
            .meta
            .get(func as usize + 1)
            .map_or(self.ops.len(), |m| m.start as usize);
        self.start_of(func) as usize..end
    }

    /// The operand stack pointer (a slot from the frame's base) of
    /// instruction `pc` of the program's code, where it runs as a
    /// canonical instruction.
    pub fn sp_at(&self, pc: u32) -> u32 {
        self.sps[pc as usize]
    }

    /// The program's internal code: every function's, one after another
    /// (see [`Program::start_of`]).
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Constant divisor `k` (of `idiv.by`/`irem.by`).
    pub fn divisor(&self, k: u32) -> crate::divisor::Divisor {
        self.divisors[k as usize]
    }

    /// Whether function `func` returns a value (its `ret` leaves one).
    pub fn returns_value(&self, func: u32) -> bool {
        self.meta[func as usize].returns_value
    }

    /// Slots of one frame of function `func`: its locals and operand
    /// stack.
    pub fn frame_size(&self, func: u32) -> u32 {
        self.meta[func as usize].frame_size
    }

    /// Where function `func`'s code starts in the program's code: an index
    /// into the program's code less this is one into the function's.
    pub fn start_of(&self, func: u32) -> u32 {
        self.meta[func as usize].start
    }

    /// Whether values of array type `ty` hold references in their
    /// elements (map type: in their values; cell type: in their content).
    #[inline]
    pub fn holds_refs(&self, ty: TypeId) -> bool {
        self.holds_refs[ty as usize]
    }

    /// Whether array type `ty` is `[bool]`, whose elements are bytes.
    #[inline]
    pub fn byte_items(&self, ty: TypeId) -> bool {
        self.byte_items[ty as usize]
    }

    /// The layout of record type `ty` and the field count of each of its
    /// variants (compiled code allocates records itself).
    #[inline]
    pub fn shape(&self, ty: TypeId) -> (u32, &[u32]) {
        let (l, counts) = &self.shapes[ty as usize];
        (*l, counts)
    }
}
