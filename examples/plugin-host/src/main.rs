//! A plugin host: serves text requests through every plugin in a folder,
//! plugins it did not write and does not trust.
//!
//! Each plugin exports `handle(input: str) -> str`. The host grants them
//! little: a log function, a word-weight table, and reading one data
//! folder. Each runs with its own heap limit and a fresh fuel budget per
//! request. A plugin that is refused (it wants a capability not granted),
//! traps (runs out of fuel or heap) or fails (reads a file it may not) is
//! reported, reset if needed, and the host keeps serving the rest.
//!
//! Usage: `plugin-host [PLUGIN_DIR] [REQUEST...]` (defaults: this crate's
//! `plugins/` folder and three sample requests).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tern_sandbox::{group_imports, Error, Instance, Limits, Linker, Module, Output, TypedFunc};

/// `println!` that ignores a closed pipe (`plugin-host | head`).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// Instructions a plugin may execute per request.
const FUEL_PER_REQUEST: u64 = 2_000_000;
/// Accounted heap bytes each plugin may hold.
const HEAP_PER_PLUGIN: usize = 4 << 20;

struct Plugin {
    name: String,
    instance: Instance,
    handle: TypedFunc<(String,), String>,
}

fn linker(data_dir: &Path, log: Arc<Mutex<Vec<String>>>) -> Linker {
    let mut l = Linker::new();
    l.stdout(Output::Capture);
    let dir = data_dir.display().to_string();
    l.func("host", "data_dir", move || dir.clone());
    l.func("host", "log", move |message: String| {
        log.lock().unwrap().push(message);
    });
    l.func("scoring", "weight", |word: String| -> i64 {
        match word.as_str() {
            "fox" | "dog" => 5,
            "quick" | "lazy" => 3,
            w => (w.len() as i64).min(2),
        }
    });
    l.allow_read(data_dir)
        .expect("the plugin data folder exists");
    l
}

fn load(dir: &Path, linker: &Linker) -> Vec<Plugin> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "src" || x == "bc"))
        .collect();
    files.sort();
    let limits = Limits {
        max_heap: HEAP_PER_PLUGIN,
        max_depth: 1000,
        ..Limits::default()
    };
    let mut plugins = Vec::new();
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let loaded = Module::from_file(&path).and_then(|m| {
            let mut instance = linker.instantiate(&m, limits.clone())?;
            let handle = instance.typed_func::<(String,), String>("handle")?;
            instance.set_fuel(FUEL_PER_REQUEST);
            Ok(Plugin {
                name: name.clone(),
                instance,
                handle,
            })
        });
        match loaded {
            Ok(p) => {
                let imports = p.instance.module().imports();
                if imports.is_empty() {
                    say!("loaded  {name}: needs nothing");
                } else {
                    say!("loaded  {name}: needs {}", group_imports(&imports));
                }
                plugins.push(p);
            }
            Err(e) => say!("refused {name}: {e}"),
        }
    }
    plugins
}

fn serve(plugins: &mut [Plugin], request: &str, log: &Mutex<Vec<String>>) {
    say!("request {request:?}");
    for p in plugins.iter_mut() {
        p.instance.set_fuel(FUEL_PER_REQUEST);
        let result = p.handle.call(&mut p.instance, (request.to_string(),));
        let printed = p.instance.take_stdout();
        match result {
            Ok(answer) => say!("  {:<12} {answer:?}", p.name),
            Err(Error::Trap(t)) => {
                let at = t
                    .trace
                    .first()
                    .map(|f| {
                        // Traces name files as the host gave their paths;
                        // the log names the plugin's file alone.
                        let file = Path::new(&f.file).file_name().unwrap_or_default();
                        format!(
                            " (at {}, {}:{})",
                            f.function,
                            file.to_string_lossy(),
                            f.line
                        )
                    })
                    .unwrap_or_default();
                say!("  {:<12} failed: {}{at}", p.name, t.message);
                // A trap may leave a half-done heap behind: start over.
                p.instance.reset();
            }
            Err(e) => say!("  {:<12} failed: {e}", p.name),
        }
        if !printed.is_empty() {
            say!("  {:<12} printed {printed:?}", p.name);
        }
        for line in log.lock().unwrap().drain(..) {
            say!("  {:<12} logged {line:?}", p.name);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins"));
    let mut requests: Vec<String> = args.collect();
    if requests.is_empty() {
        requests = vec![
            "the quick brown fox".into(),
            "oh heck the lazy dog ate it darn".into(),
            "".into(),
        ];
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let linker = linker(&dir.join("public"), Arc::clone(&log));
    let mut plugins = load(&dir, &linker);
    for r in &requests {
        serve(&mut plugins, r, &log);
    }
    say!(
        "served {} requests with {} plugins; the host is still up",
        requests.len(),
        plugins.len()
    );
}
