use std::path::Path;
use tern_vm::Program;
#[test]
fn dump() {
    let Ok(file) = std::env::var("DUMP_SRC") else {
        return;
    };
    let want = std::env::var("DUMP_FN").unwrap_or_default();
    let text = std::fs::read_to_string(&file).unwrap();
    let path = Path::new(&file);
    let compiled = tern_compiler::compile_with(path, &tern_compiler::OneFile { path, text: &text })
        .unwrap_or_else(|_| panic!());
    let p = Program::new(compiled.module).unwrap();
    for (f, func) in p.module().functions.iter().enumerate() {
        if !want.is_empty() && func.name != want {
            continue;
        }
        let start = p.start_of(f as u32);
        for (k, op) in p.ops_of(f as u32).iter().enumerate() {
            println!("{:5} {:?}", start as usize + k, op);
        }
        if let Some(code) = tern_jit::x64::assemble(&p, f as u32) {
            std::fs::write(
                format!("/tmp/jit-{}.bin", func.name.replace('.', "_")),
                code,
            )
            .unwrap();
        }
    }
}
