//! The instruction set, defined once.
//!
//! Every instruction appears exactly once, in `for_each_op!`: its name, its
//! opcode byte, its mnemonic, its operands (name and width), its stack effect
//! and whether it is a *safepoint* (may allocate or call, so the collector
//! may run there). The macro expands into the decoded [`Instr`] enum, the
//! [`Opcode`] byte enum, the binary encoder and the checked decoder, the
//! disassembler's operand listing, and the verifier's table of fixed stack
//! effects. Nothing else in the VM lists opcodes by hand, except the match
//! arms that give each instruction its meaning.
//!
//! Encoding: one opcode byte followed by the operands, little-endian, with
//! fixed widths per opcode, so an instruction's length depends only on its
//! opcode. Jump targets are absolute byte offsets within the function in the
//! file, and instruction indices once decoded (see [`Instr::target_mut`]).
//!
//! Stack effects are written `[pops] -> [pushes]` with slot kinds
//! `I` (int), `F` (float), `B` (bool) and `S` (str), listed bottom to top.
//! Instructions whose effect depends on a type operand or on the types
//! already on the stack (calls, arrays, maps, records) say `special`, and the
//! verifier gives them their rule in `verify.rs`.

use std::fmt;

/// A slot kind in a fixed stack effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    I,
    F,
    B,
    S,
}

/// What an operand names. The verifier checks every operand of an index
/// kind against its table before the instruction's rule runs; the
/// disassembler explains operands by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A local slot of the function (parameters first).
    Local,
    /// An instruction of the function (a byte offset in the file).
    Label,
    /// An entry of the type table.
    Type,
    /// An entry of the constant pool.
    Const,
    /// A global.
    Global,
    /// A function.
    Function,
    /// An import.
    Import,
    /// A capture of the running closure.
    Capture,
    /// A field of the record type the rule finds (on the stack or in a
    /// type operand).
    Field,
    /// A variant of the enum type the rule finds.
    Variant,
    /// An unsigned immediate.
    Imm,
    /// How many values the instruction pops.
    Count,
}

impl Kind {
    /// The name the instruction table in `spec/bytecode.md` uses.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Local => "local",
            Kind::Label => "label",
            Kind::Type => "type",
            Kind::Const => "constant",
            Kind::Global => "global",
            Kind::Function => "function",
            Kind::Import => "import",
            Kind::Capture => "capture",
            Kind::Field => "field",
            Kind::Variant => "variant",
            Kind::Imm => "immediate",
            Kind::Count => "count",
        }
    }
}

/// What an instruction does to the operand stack.
#[derive(Clone, Copy, Debug)]
pub enum Effect {
    /// Pops these (bottom to top), then pushes those.
    Fixed {
        pops: &'static [Slot],
        pushes: &'static [Slot],
    },
    /// Typed by a rule of its own in the verifier.
    Special,
}

macro_rules! effect {
    (special) => {
        Effect::Special
    };
    ([$($p:ident),*] -> [$($q:ident),*]) => {
        Effect::Fixed { pops: &[$(Slot::$p),*], pushes: &[$(Slot::$q),*] }
    };
}

/// The table. Each row: `Name = opcode, "mnemonic", { operand: width as
/// kind, ... }, (stack effect), safepoint;` with a doc line saying what it
/// means.
#[macro_export]
macro_rules! for_each_op {
    ($m:ident) => {
        $m! {
            /// Do nothing.
            Nop = 0x00, "nop", {}, ([] -> []), false;
            /// Push constant-pool entry `index` (int, float or str).
            Const = 0x01, "const", { index: u32 as Const }, (special), false;
            /// Push `true` (1) or `false` (0).
            Bool = 0x02, "bool", { value: u8 as Imm }, ([] -> [B]), false;
            /// Push local `local`, which must be initialized.
            Load = 0x03, "load", { local: u16 as Local }, (special), false;
            /// Pop into local `local`; the value must have the local's type.
            Store = 0x04, "store", { local: u16 as Local }, (special), false;
            /// Push global `global` (a runtime error if not yet initialized).
            GlobalGet = 0x05, "global.get", { global: u32 as Global }, (special), false;
            /// Pop into global `global`.
            GlobalSet = 0x06, "global.set", { global: u32 as Global }, (special), false;
            /// Discard the top slot.
            Pop = 0x07, "pop", {}, (special), false;
            /// Duplicate the top slot.
            Dup = 0x08, "dup", {}, (special), false;
            /// Push capture `index` of the running closure.
            LoadCapture = 0x09, "capture", { index: u16 as Capture }, (special), false;

            /// Wrapping addition.
            IAdd = 0x10, "iadd", {}, ([I, I] -> [I]), false;
            /// Wrapping subtraction.
            ISub = 0x11, "isub", {}, ([I, I] -> [I]), false;
            /// Wrapping multiplication.
            IMul = 0x12, "imul", {}, ([I, I] -> [I]), false;
            /// Division truncating toward zero; traps on zero; MIN / -1 is MIN.
            IDiv = 0x13, "idiv", {}, ([I, I] -> [I]), false;
            /// Remainder with the dividend's sign; traps on zero; MIN % -1 is 0.
            IRem = 0x14, "irem", {}, ([I, I] -> [I]), false;
            /// Wrapping negation.
            INeg = 0x15, "ineg", {}, ([I] -> [I]), false;
            /// Bitwise and.
            IAnd = 0x16, "iand", {}, ([I, I] -> [I]), false;
            /// Bitwise or.
            IOr = 0x17, "ior", {}, ([I, I] -> [I]), false;
            /// Bitwise exclusive or.
            IXor = 0x18, "ixor", {}, ([I, I] -> [I]), false;
            /// Shift left by the count mod 64.
            IShl = 0x19, "ishl", {}, ([I, I] -> [I]), false;
            /// Arithmetic shift right by the count mod 64.
            IShr = 0x1A, "ishr", {}, ([I, I] -> [I]), false;
            /// Int less than.
            ILt = 0x20, "ilt", {}, ([I, I] -> [B]), false;
            /// Int less or equal.
            ILe = 0x21, "ile", {}, ([I, I] -> [B]), false;
            /// Int greater than.
            IGt = 0x22, "igt", {}, ([I, I] -> [B]), false;
            /// Int greater or equal.
            IGe = 0x23, "ige", {}, ([I, I] -> [B]), false;
            /// Int equal.
            IEq = 0x24, "ieq", {}, ([I, I] -> [B]), false;
            /// Int not equal.
            INe = 0x25, "ine", {}, ([I, I] -> [B]), false;

            /// IEEE addition.
            FAdd = 0x30, "fadd", {}, ([F, F] -> [F]), false;
            /// IEEE subtraction.
            FSub = 0x31, "fsub", {}, ([F, F] -> [F]), false;
            /// IEEE multiplication (never fused with an add).
            FMul = 0x32, "fmul", {}, ([F, F] -> [F]), false;
            /// IEEE division.
            FDiv = 0x33, "fdiv", {}, ([F, F] -> [F]), false;
            /// Remainder with the dividend's sign (C fmod, exact).
            FRem = 0x34, "frem", {}, ([F, F] -> [F]), false;
            /// Negation (flips the sign bit).
            FNeg = 0x35, "fneg", {}, ([F] -> [F]), false;
            /// Float less than (false if either is NaN).
            FLt = 0x38, "flt", {}, ([F, F] -> [B]), false;
            /// Float less or equal.
            FLe = 0x39, "fle", {}, ([F, F] -> [B]), false;
            /// Float greater than.
            FGt = 0x3A, "fgt", {}, ([F, F] -> [B]), false;
            /// Float greater or equal.
            FGe = 0x3B, "fge", {}, ([F, F] -> [B]), false;
            /// Float equal (NaN is unequal to everything).
            FEq = 0x3C, "feq", {}, ([F, F] -> [B]), false;
            /// Float not equal.
            FNe = 0x3D, "fne", {}, ([F, F] -> [B]), false;

            /// Boolean not.
            BNot = 0x40, "bnot", {}, ([B] -> [B]), false;
            /// Bool equal.
            BEq = 0x41, "beq", {}, ([B, B] -> [B]), false;
            /// Bool not equal.
            BNe = 0x42, "bne", {}, ([B, B] -> [B]), false;

            /// String equal (by content).
            SEq = 0x48, "seq", {}, ([S, S] -> [B]), false;
            /// String not equal.
            SNe = 0x49, "sne", {}, ([S, S] -> [B]), false;
            /// String less than (bytewise).
            SLt = 0x4A, "slt", {}, ([S, S] -> [B]), false;
            /// String less or equal.
            SLe = 0x4B, "sle", {}, ([S, S] -> [B]), false;
            /// String greater than.
            SGt = 0x4C, "sgt", {}, ([S, S] -> [B]), false;
            /// String greater or equal.
            SGe = 0x4D, "sge", {}, ([S, S] -> [B]), false;
            /// Concatenate two strings.
            SConcat = 0x4E, "sconcat", {}, ([S, S] -> [S]), true;
            /// Length in bytes.
            SLen = 0x50, "slen", {}, ([S] -> [I]), false;
            /// Byte `i` as an int 0..=255; traps out of bounds.
            SByte = 0x51, "sbyte", {}, ([S, I] -> [I]), false;
            /// Bytes `start..end`; traps out of range or off a char boundary.
            SSlice = 0x52, "sslice", {}, ([S, I, I] -> [S]), true;
            /// Split on a separator; `ty` is `[str]`.
            SSplit = 0x53, "ssplit", { ty: u32 as Type }, (special), true;
            /// Byte offset of the first occurrence, or -1.
            SFind = 0x54, "sfind", {}, ([S, S] -> [I]), false;
            /// Join a `[str]` with a separator.
            SJoin = 0x55, "sjoin", {}, (special), true;

            /// The text of a value of type `ty` (any type: see `str(x)` in
            /// the language).
            Text = 0x56, "text", { ty: u32 as Type }, (special), true;
            /// Whether two values of type `ty` are equal (by value; structs
            /// and closures by identity).
            Eq = 0x57, "eq", { ty: u32 as Type }, (special), false;

            /// Int to float (round to nearest).
            I2F = 0x58, "i2f", {}, ([I] -> [F]), false;
            /// Float to int: truncate, saturate, NaN gives 0.
            F2I = 0x59, "f2i", {}, ([F] -> [I]), false;
            /// Decimal text of an int.
            IToS = 0x5A, "itos", {}, ([I] -> [S]), true;
            /// Shortest round-trip text of a float.
            FToS = 0x5B, "ftos", {}, ([F] -> [S]), true;
            /// `true` or `false`.
            BToS = 0x5C, "btos", {}, ([B] -> [S]), true;
            /// Parse a decimal int; traps on bad text.
            SToI = 0x5D, "stoi", {}, ([S] -> [I]), false;
            /// Parse a float; traps on bad text.
            SToF = 0x5E, "stof", {}, ([S] -> [F]), false;
            /// Fixed-point text with `digits` decimals, ties to even.
            FFixed = 0x5F, "ffixed", {}, ([F, I] -> [S]), true;

            /// Square root (IEEE exact).
            FSqrt = 0x60, "fsqrt", {}, ([F] -> [F]), false;
            /// Round down.
            FFloor = 0x61, "ffloor", {}, ([F] -> [F]), false;
            /// Round up.
            FCeil = 0x62, "fceil", {}, ([F] -> [F]), false;
            /// Sine (portable libm).
            FSin = 0x63, "fsin", {}, ([F] -> [F]), false;
            /// Cosine (portable libm).
            FCos = 0x64, "fcos", {}, ([F] -> [F]), false;
            /// e to the x (portable libm).
            FExp = 0x65, "fexp", {}, ([F] -> [F]), false;
            /// Natural logarithm (portable libm).
            FLog = 0x66, "flog", {}, ([F] -> [F]), false;
            /// Absolute value.
            FAbs = 0x67, "fabs", {}, ([F] -> [F]), false;
            /// x to the y (portable libm).
            FPow = 0x68, "fpow", {}, ([F, F] -> [F]), false;
            /// Minimum; NaN if either is NaN; -0.0 below 0.0.
            FMin = 0x69, "fmin", {}, ([F, F] -> [F]), false;
            /// Maximum; NaN if either is NaN; 0.0 above -0.0.
            FMax = 0x6A, "fmax", {}, ([F, F] -> [F]), false;
            /// Absolute value (wrapping: abs(MIN) is MIN).
            IAbs = 0x6B, "iabs", {}, ([I] -> [I]), false;
            /// Int minimum.
            IMin = 0x6C, "imin", {}, ([I, I] -> [I]), false;
            /// Int maximum.
            IMax = 0x6D, "imax", {}, ([I, I] -> [I]), false;

            /// Jump to `target`.
            Jmp = 0x70, "jmp", { target: u32 as Label }, ([] -> []), false;
            /// Pop a bool; jump to `target` if true.
            JmpIf = 0x71, "jmp.if", { target: u32 as Label }, ([B] -> []), false;
            /// Pop a bool; jump to `target` if false.
            JmpIfNot = 0x72, "jmp.ifnot", { target: u32 as Label }, ([B] -> []), false;
            /// Call function `func` with its parameters popped from the stack.
            Call = 0x73, "call", { func: u32 as Function }, (special), true;
            /// Call a closure of function type `ty`: pops the arguments, then the closure.
            CallClosure = 0x74, "call.closure", { ty: u32 as Type }, (special), true;
            /// Call host import `import`.
            CallHost = 0x75, "call.host", { import: u32 as Import }, (special), true;
            /// Return; the stack holds exactly the result (nothing for unit).
            Ret = 0x76, "ret", {}, (special), false;
            /// Stop the program with a runtime error whose message is the
            /// string popped (`panic`); control does not go on.
            Panic = 0x77, "panic", {}, ([S] -> []), false;
            /// End the program with the int popped as its exit code, as
            /// `main` returning it would; control does not go on.
            Exit = 0x78, "exit", {}, ([I] -> []), false;

            /// Pop `len` elements into a new array of type `ty`.
            NewArray = 0x80, "array.new", { ty: u32 as Type, len: u32 as Count }, (special), true;
            /// Pop a value and a count; a new array of type `ty` repeating the value.
            NewArrayRep = 0x81, "array.rep", { ty: u32 as Type }, (special), true;
            /// Array length.
            ALen = 0x82, "array.len", {}, (special), false;
            /// Element at an index; traps out of bounds.
            AGet = 0x83, "array.get", {}, (special), false;
            /// Store an element at an index; traps out of bounds.
            ASet = 0x84, "array.set", {}, (special), false;
            /// Append an element.
            APush = 0x85, "array.push", {}, (special), true;
            /// Remove and push the last element; traps when empty.
            APop = 0x86, "array.pop", {}, (special), false;
            /// Sort an array of type `ty` in place, stably (ints, floats
            /// with NaN last, bools false first, strings by bytes).
            ASort = 0x87, "array.sort", { ty: u32 as Type }, (special), false;
            /// Reverse an array in place.
            AReverse = 0x88, "array.reverse", {}, (special), false;
            /// The index of the first element of an array of type `ty`
            /// equal to a value (as `eq` has it), or -1.
            AFind = 0x89, "array.find", { ty: u32 as Type }, (special), false;
            /// A new array of type `ty`: the elements at `start..end`;
            /// traps out of range.
            ASlice = 0x8A, "array.slice", { ty: u32 as Type }, (special), true;
            /// Insert an element at an index (0..=len), moving the rest up.
            AInsert = 0x8B, "array.insert", {}, (special), true;
            /// Remove and push the element at an index, moving the rest down.
            ARemove = 0x8C, "array.remove", {}, (special), false;
            /// Append the elements of the second array to the first.
            AExtend = 0x8D, "array.extend", {}, (special), true;

            /// A new empty map of type `ty`.
            NewMap = 0x90, "map.new", { ty: u32 as Type }, (special), true;
            /// Number of entries.
            MLen = 0x91, "map.len", {}, (special), false;
            /// Value for a key; traps when absent.
            MGet = 0x92, "map.get", {}, (special), false;
            /// Value for a key, or the given default.
            MGetOr = 0x93, "map.getor", {}, (special), false;
            /// Insert or replace (a new key goes last in order).
            MSet = 0x94, "map.set", {}, (special), true;
            /// Whether a key is present.
            MHas = 0x95, "map.has", {}, (special), false;
            /// Remove a key if present, keeping the order of the rest.
            MRemove = 0x96, "map.remove", {}, (special), true;
            /// The keys in order, as a new array of type `ty`.
            MKeys = 0x97, "map.keys", { ty: u32 as Type }, (special), true;
            /// The values in order, as a new array of type `ty`.
            MValues = 0x98, "map.values", { ty: u32 as Type }, (special), true;
            /// The key at a position in order; traps out of bounds.
            MKeyAt = 0x99, "map.keyat", {}, (special), true;
            /// The value at a position in order; traps out of bounds.
            MValAt = 0x9A, "map.valat", {}, (special), false;
            /// The order number of the first entry whose order number is at
            /// least the operand, or -1 if none: the step of iteration.
            MNext = 0x9B, "map.next", {}, (special), false;
            /// The key of the entry with an order number; traps if it has
            /// been removed.
            MKeyOf = 0x9C, "map.keyof", {}, (special), true;
            /// The value of the entry with an order number; traps if it has
            /// been removed.
            MValOf = 0x9D, "map.valof", {}, (special), false;
            /// Remove every entry.
            MClear = 0x9E, "map.clear", {}, (special), false;

            /// Pop the fields (in declaration order) into a new struct of type `ty`.
            NewStruct = 0xA0, "struct.new", { ty: u32 as Type }, (special), true;
            /// Read field `field` of a struct.
            GetField = 0xA1, "field.get", { field: u16 as Field }, (special), false;
            /// Write field `field` of a struct.
            SetField = 0xA2, "field.set", { field: u16 as Field }, (special), false;
            /// Pop the payload into a new value of enum type `ty`, variant `variant`.
            NewEnum = 0xA3, "enum.new", { ty: u32 as Type, variant: u16 as Variant }, (special), true;
            /// The variant index of an enum value.
            EnumTag = 0xA4, "enum.tag", {}, (special), false;
            /// Payload field `field` of an enum value that must be variant `variant`.
            EnumField = 0xA5, "enum.field", { variant: u16 as Variant, field: u16 as Field }, (special), false;

            /// Pop the captures of function `func` into a closure of function type `ty`.
            NewClosure = 0xB0, "closure.new", { func: u32 as Function, ty: u32 as Type }, (special), true;
            /// Pop a value into a new mutable cell of cell type `ty`.
            NewCell = 0xB1, "cell.new", { ty: u32 as Type }, (special), true;
            /// Read a cell.
            CellGet = 0xB2, "cell.get", {}, (special), false;
            /// Write a cell.
            CellSet = 0xB3, "cell.set", {}, (special), false;

            /// Built-in function `id` (see the table of built-ins): pops its
            /// parameters, pushes its result.
            Builtin = 0xC0, "builtin", { id: u16 as Imm }, (special), true;
            /// Built-in function `id` that makes a new array of type `ty`
            /// (see the table of built-ins).
            BuiltinList = 0xC1, "builtin.list", { id: u16 as Imm, ty: u32 as Type }, (special), true;
        }
    };
}

/// Operand widths that may appear in the table.
pub trait Operand: Copy {
    /// The operand as the disassembler shows it.
    fn show(self) -> i64;
    const WIDTH: usize;
    fn read(bytes: &[u8]) -> Self;
    fn write(self, out: &mut Vec<u8>);
}

impl Operand for u8 {
    fn show(self) -> i64 {
        self as i64
    }
    const WIDTH: usize = 1;
    fn read(b: &[u8]) -> Self {
        b[0]
    }
    fn write(self, out: &mut Vec<u8>) {
        out.push(self)
    }
}
impl Operand for u16 {
    fn show(self) -> i64 {
        self as i64
    }
    const WIDTH: usize = 2;
    fn read(b: &[u8]) -> Self {
        u16::from_le_bytes([b[0], b[1]])
    }
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes())
    }
}
impl Operand for u32 {
    fn show(self) -> i64 {
        self as i64
    }
    const WIDTH: usize = 4;
    fn read(b: &[u8]) -> Self {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes())
    }
}

impl Operand for i32 {
    fn show(self) -> i64 {
        self as i64
    }
    const WIDTH: usize = 4;
    fn read(b: &[u8]) -> Self {
        i32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes())
    }
}

/// A decoding failure at some byte offset of a function's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    UnknownOpcode(u8),
    Truncated,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownOpcode(b) => write!(f, "unknown opcode 0x{b:02x}"),
            DecodeError::Truncated => write!(f, "instruction truncated"),
        }
    }
}

macro_rules! define_instr {
    ($( $(#[doc = $doc:literal])* $name:ident = $code:literal, $mn:literal,
        { $($op:ident : $ty:ident as $kind:ident),* }, ( $($eff:tt)* ), $gc:literal; )*) => {
        /// A decoded instruction with its operands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Instr {
            $( $(#[doc = $doc])* $name { $($op: $ty),* }, )*
        }

        /// The opcode byte of each instruction.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Opcode {
            $( $name = $code, )*
        }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[ $(Opcode::$name,)* ];

            pub fn from_byte(b: u8) -> Option<Opcode> {
                match b {
                    $( $code => Some(Opcode::$name), )*
                    _ => None,
                }
            }

            pub fn mnemonic(self) -> &'static str {
                match self { $( Opcode::$name => $mn, )* }
            }

            /// Encoded length in bytes, opcode included.
            pub fn encoded_len(self) -> usize {
                match self { $( Opcode::$name => 1 $(+ <$ty as Operand>::WIDTH)*, )* }
            }

            pub fn effect(self) -> Effect {
                match self { $( Opcode::$name => effect!($($eff)*), )* }
            }

            /// Whether the collector may run while this instruction executes.
            pub fn is_safepoint(self) -> bool {
                match self { $( Opcode::$name => $gc, )* }
            }

            /// The one-line meaning from the table.
            pub fn doc(self) -> &'static str {
                match self { $( Opcode::$name => concat!($($doc),*).trim_ascii(), )* }
            }

            /// Operand names and widths in bytes.
            pub fn operand_layout(self) -> &'static [(&'static str, usize)] {
                match self { $( Opcode::$name => &[$( (stringify!($op), <$ty as Operand>::WIDTH) ),*], )* }
            }

            /// What each operand names, in order.
            pub fn operand_kinds(self) -> &'static [Kind] {
                match self { $( Opcode::$name => &[$( Kind::$kind ),*], )* }
            }
        }

        #[allow(unused_assignments)]
        impl Instr {
            #[inline]
            pub fn opcode(&self) -> Opcode {
                match self { $( Instr::$name { .. } => Opcode::$name, )* }
            }

            /// Appends the encoding (jump targets are written as they are).
            pub fn encode(&self, out: &mut Vec<u8>) {
                match *self {
                    $( Instr::$name { $($op),* } => {
                        out.push($code);
                        $( Operand::write($op, out); )*
                    } )*
                }
            }

            /// Decodes one instruction from the start of `bytes` (checked).
            pub fn decode(bytes: &[u8]) -> Result<Instr, DecodeError> {
                let first = *bytes.first().ok_or(DecodeError::Truncated)?;
                let op = Opcode::from_byte(first).ok_or(DecodeError::UnknownOpcode(first))?;
                if bytes.len() < op.encoded_len() {
                    return Err(DecodeError::Truncated);
                }
                #[allow(unused_mut, unused_variables, unused_assignments)]
                let mut at = 1usize;
                match op {
                    $( Opcode::$name => Ok(Instr::$name { $($op: {
                        let v = <$ty as Operand>::read(&bytes[at..]);
                        at += <$ty as Operand>::WIDTH;
                        v
                    }),* }), )*
                }
            }

            /// The value of operand `k` (in table order), as the
            /// disassembler shows it; 0 past the last.
            pub fn operand(&self, k: usize) -> i64 {
                match *self {
                    $( Instr::$name { $($op),* } => {
                        let values: &[i64] = &[ $( Operand::show($op) ),* ];
                        values.get(k).copied().unwrap_or(0)
                    } )*
                }
            }

            /// Operand names and values, for the disassembler.
            pub fn operands(&self) -> Vec<(&'static str, i64)> {
                match *self {
                    $( Instr::$name { $($op),* } => vec![ $( (stringify!($op), Operand::show($op)) ),* ], )*
                }
            }
        }
    };
}

for_each_op!(define_instr);

/// The instruction table of the file format as Markdown, for
/// `spec/bytecode.md`.
pub fn markdown_table() -> String {
    let slots = |ss: &[Slot]| {
        ss.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::from(
        "| op | mnemonic | operands | stack (before → after) | GC | meaning |\n|---|---|---|---|---|---|\n",
    );
    for &op in Opcode::ALL {
        let operands: Vec<String> = op
            .operand_layout()
            .iter()
            .zip(op.operand_kinds())
            .map(|((n, w), k)| format!("{n}:u{} ({})", w * 8, k.name()))
            .collect();
        let effect = match op.effect() {
            Effect::Fixed { pops, pushes } => format!("[{}] → [{}]", slots(pops), slots(pushes)),
            Effect::Special => "see rules".to_string(),
        };
        out.push_str(&format!(
            "| 0x{:02X} | `{}` | {} | {} | {} | {} |\n",
            op as u8,
            op.mnemonic(),
            operands.join(", "),
            effect,
            if op.is_safepoint() { "yes" } else { "" },
            op.doc()
        ));
    }
    out
}

/// What a comparison instruction compares by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    /// The comparison instruction `i` makes, and whether it compares
    /// floats (bools compare as ints).
    pub fn of(i: Instr) -> Option<(Cmp, bool)> {
        use Instr::*;
        Some(match i {
            ILt {} => (Cmp::Lt, false),
            ILe {} => (Cmp::Le, false),
            IGt {} => (Cmp::Gt, false),
            IGe {} => (Cmp::Ge, false),
            IEq {} | BEq {} => (Cmp::Eq, false),
            INe {} | BNe {} => (Cmp::Ne, false),
            FLt {} => (Cmp::Lt, true),
            FLe {} => (Cmp::Le, true),
            FGt {} => (Cmp::Gt, true),
            FGe {} => (Cmp::Ge, true),
            FEq {} => (Cmp::Eq, true),
            FNe {} => (Cmp::Ne, true),
            _ => return None,
        })
    }

    /// The int comparison instruction `i` makes (not bools, not floats).
    pub fn of_int(i: Instr) -> Option<Cmp> {
        match (i, Cmp::of(i)) {
            (Instr::BEq {} | Instr::BNe {}, _) => None,
            (_, Some((c, false))) => Some(c),
            _ => None,
        }
    }

    /// The comparison that holds exactly when this one does not (for
    /// ints and bools; with a NaN, neither float comparison holds).
    pub fn negated(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Ge,
            Cmp::Le => Cmp::Gt,
            Cmp::Gt => Cmp::Le,
            Cmp::Ge => Cmp::Lt,
            Cmp::Eq => Cmp::Ne,
            Cmp::Ne => Cmp::Eq,
        }
    }

    /// The comparison with its operands swapped.
    pub fn swapped(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            c => c,
        }
    }

    /// The int comparison instruction.
    pub fn int_instr(self) -> Instr {
        match self {
            Cmp::Lt => Instr::ILt {},
            Cmp::Le => Instr::ILe {},
            Cmp::Gt => Instr::IGt {},
            Cmp::Ge => Instr::IGe {},
            Cmp::Eq => Instr::IEq {},
            Cmp::Ne => Instr::INe {},
        }
    }
}

impl Instr {
    /// The jump target of a branch, if this is one.
    pub fn target_mut(&mut self) -> Option<&mut u32> {
        match self {
            Instr::Jmp { target } | Instr::JmpIf { target } | Instr::JmpIfNot { target } => {
                Some(target)
            }
            _ => None,
        }
    }

    pub fn target(&self) -> Option<u32> {
        let mut i = *self;
        i.target_mut().map(|t| *t)
    }

    /// Whether control can continue to the next instruction.
    pub fn falls_through(&self) -> bool {
        !matches!(
            self,
            Instr::Jmp { .. } | Instr::Ret {} | Instr::Panic {} | Instr::Exit {}
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_are_unique_and_round_trip() {
        let mut seen = [false; 256];
        for &op in Opcode::ALL {
            assert!(!seen[op as usize], "duplicate opcode {:?}", op);
            seen[op as usize] = true;
            assert_eq!(Opcode::from_byte(op as u8), Some(op));
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let samples = [
            Instr::Nop {},
            Instr::Const { index: 0xDEAD_BEEF },
            Instr::Load { local: 513 },
            Instr::NewEnum { ty: 7, variant: 3 },
            Instr::EnumField {
                variant: 1,
                field: 2,
            },
            Instr::Jmp { target: 12 },
        ];
        for i in samples {
            let mut out = Vec::new();
            i.encode(&mut out);
            assert_eq!(out.len(), i.opcode().encoded_len());
            assert_eq!(Instr::decode(&out), Ok(i));
            assert_eq!(
                Instr::decode(&out[..out.len() - 1]),
                Err(DecodeError::Truncated)
            );
        }
    }

    #[test]
    fn spec_lists_the_instruction_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/bytecode.md");
        let spec = std::fs::read_to_string(path).expect("spec/bytecode.md exists");
        let start = spec.find("<!-- opcodes:begin -->\n").expect("begin marker") + 23;
        let end = spec.find("<!-- opcodes:end -->").expect("end marker");
        assert!(
            spec[start..end] == markdown_table(),
            "spec/bytecode.md's instruction table is out of date; it should read:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn spec_gives_every_special_instruction_a_rule() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/bytecode.md");
        let spec = std::fs::read_to_string(path).expect("spec/bytecode.md exists");
        let start = spec
            .find("### Rules for the special instructions")
            .expect("rules section");
        let end = spec[start..]
            .find("### Run-time behaviour")
            .expect("section after the rules")
            + start;
        let rules = &spec[start..end];
        for &op in Opcode::ALL {
            if let Effect::Special = op.effect() {
                let m = op.mnemonic();
                let named = rules.contains(&format!("`{m}"))
                    || rules.contains(&format!(" {m}`"))
                    || rules.contains(&format!(", {m}"));
                assert!(named, "spec/bytecode.md has no verification rule for `{m}`");
            }
        }
    }

    #[test]
    fn instr_stays_small() {
        // The interpreter walks arrays of these; keep them within 12 bytes.
        assert!(std::mem::size_of::<Instr>() <= 12);
    }
}
