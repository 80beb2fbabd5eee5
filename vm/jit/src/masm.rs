//! The macro-assembler the lowering speaks: what one internal instruction
//! needs, in terms both machines have. Values live in the frame's slots
//! between instructions; within one, in two scratch registers.

/// A scratch register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    A,
    B,
}

/// A signed integer comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

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
    fn branch(&mut self, cond: Cond, label: Self::Label);
    fn jump(&mut self, label: Self::Label);
    /// Return `exit` to the caller.
    fn ret(&mut self, exit: u64);
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
