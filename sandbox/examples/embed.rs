use tern_sandbox::{Error, Limits, Linker, Module, Output};

fn main() -> Result<(), Error> {
    let source = "extern \"scoring\" { fn weight(word: str) -> int; }
        fn score(words: [str]) -> int { return words.fold(0, |t, w| t + weight(w)); }";
    let module = Module::from_source("plugin.src", source)?; // or Module::from_file("plugin.bc")?
    let mut linker = Linker::new(); // grants nothing
    linker.stdout(Output::Capture);
    linker.func("scoring", "weight", |word: String| word.len() as i64);
    let limits = Limits {
        fuel: 10_000_000,
        ..Limits::default()
    };
    let mut plugin = linker.instantiate(&module, limits)?;
    let score = plugin.typed_func::<(Vec<String>,), i64>("score")?; // checked once
    println!(
        "{}",
        score.call(&mut plugin, (vec!["tern".into(), "vm".into()],))?
    );
    Ok(())
}
