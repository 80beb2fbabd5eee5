//! The macro-assembler the lowering speaks: what one internal instruction
//! needs, in terms both machines have. Values live in the frame's slots
//! between instructions; within one, in two scratch registers.

/// A scratch register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    A,
    B,
}

/// A comparison: the VM's own (signed for ints, IEEE for floats).
pub use tern_vm::opcodes::Cmp;

/// An integer operation `d = d op s` (wrapping, as the language's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
}

/// A float operation `A = A op B` (IEEE, round to nearest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// One machine's way of emitting what `lower` asks for. The frame's slot
/// 0 is at the address the compiled function received.
pub trait Masm {
    type Label: Copy;
    fn new_label(&mut self) -> Self::Label;
    fn bind(&mut self, label: Self::Label);
    /// `r = frame[slot]`.
    fn load(&mut self, r: Reg, slot: u16);
    /// `frame[slot] = r`.
    fn store(&mut self, slot: u16, r: Reg);
    /// `r = v`.
    fn load_imm(&mut self, r: Reg, v: i64);
    /// `A = A op B`.
    fn int_op(&mut self, op: IntOp);
    /// Jump to `label` if `A cond B` (signed).
    fn branch(&mut self, cond: Cmp, label: Self::Label);
    fn jump(&mut self, label: Self::Label);
    /// Return `exit` to the caller.
    fn ret(&mut self, exit: u64);

    // Floats live in two float registers, `A` and `B` again.
    /// `fr = frame[slot]` (a float's bits).
    fn fload(&mut self, r: Reg, slot: u16);
    /// `frame[slot] = fr`.
    fn fstore(&mut self, slot: u16, r: Reg);
    /// `fdst = fsrc`.
    fn fmove(&mut self, dst: Reg, src: Reg);
    /// `fA = fA op fB`: one IEEE operation, one rounding (never fused
    /// with another: a multiply-add is a multiplication, then an
    /// addition).
    fn float_op(&mut self, op: FloatOp);
    /// Jump to `label` if `fA cond fB`, or, with `negated`, if not: so a
    /// NaN operand takes a plain branch never (every comparison with NaN
    /// is false) and a negated one always.
    fn fbranch(&mut self, cond: Cmp, negated: bool, label: Self::Label);
    /// `fA = A as float` (the int in integer register `A`).
    fn int_to_float(&mut self);
}

/// A dynasmrt assembler that makes labels (an inherent method of each,
/// not part of its traits).
pub trait NewLabel {
    fn new_label(&mut self) -> dynasmrt::DynamicLabel;
}

impl<R: dynasmrt::relocations::Relocation> NewLabel for dynasmrt::Assembler<R> {
    fn new_label(&mut self) -> dynasmrt::DynamicLabel {
        self.new_dynamic_label()
    }
}

impl<R: dynasmrt::relocations::Relocation> NewLabel for dynasmrt::VecAssembler<R> {
    fn new_label(&mut self) -> dynasmrt::DynamicLabel {
        self.new_dynamic_label()
    }
}
