//! Hostile guests: each tries to get out of the sandbox or to take the
//! host down, and each attempt must end in the documented error or trap,
//! with the host and every other instance unharmed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tern_sandbox::{Error, Instance, Limits, Linker, Module, Output, TrapKind, Value};

/// A linker granting only standard output, thrown away.
fn quiet() -> Linker {
    let mut l = Linker::new();
    l.stdout(Output::Discard);
    l
}

fn module(src: &str) -> Module {
    Module::from_source("guest.src", src).unwrap_or_else(|e| panic!("{e}"))
}

/// A scratch directory with `granted/` (holding `inside.txt` and a symlink
/// `granted/escape.txt` to `outside.txt`) and `outside.txt` beside it.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tern-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("granted/sub")).unwrap();
        std::fs::write(dir.join("granted/inside.txt"), "inside").unwrap();
        std::fs::write(dir.join("outside.txt"), "the host's secret").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("outside.txt"), dir.join("granted/escape.txt"))
            .unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("../../outside.txt", dir.join("granted/sub/up.txt")).unwrap();
        Scratch(dir)
    }

    fn granted(&self) -> PathBuf {
        self.0.join("granted")
    }

    fn outside(&self) -> String {
        std::fs::read_to_string(self.0.join("outside.txt")).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The guest's runtime error for calling `f(path)`, or its result.
fn call_path(inst: &mut Instance, f: &str, path: &str) -> Result<Value, String> {
    inst.call(f, &[Value::Str(path.into())])
        .map_err(|e| match e {
            Error::Trap(t) => {
                // A host's refusal (`fs.exists`), or the guest's panic with
                // the `Err` that `fs.read` and `fs.write` returned.
                assert!(matches!(t.kind, TrapKind::Host | TrapKind::Panic), "{t:?}");
                assert!(!t.trace.is_empty(), "a host error carries the guest trace");
                t.message
            }
            other => panic!("{other}"),
        })
}

const FILES: &str = r#"
import fs;
fn read(p: str) -> str { return match fs.read(p) { Ok(t) => t, Err(e) => panic(e) }; }
fn exists(p: str) -> bool { return fs.exists(p); }
fn write(p: str) { match fs.write(p, "overwritten by the guest") { Ok(_) => {} Err(e) => panic(e) } }
fn append(p: str) { match fs.append(p, " and appended") { Ok(_) => {} Err(e) => panic(e) } }
"#;

#[test]
fn reads_stay_inside_the_granted_directory() {
    let s = Scratch::new("read");
    let g = s.granted();
    let g = g.to_str().unwrap();
    let mut linker = Linker::new();
    linker.allow_read(g).unwrap();
    linker.allow_write(s.0.join("granted/sub")).unwrap();
    let mut inst = linker
        .instantiate(&module(FILES), Limits::default())
        .unwrap();
    assert_eq!(
        call_path(&mut inst, "read", &format!("{g}/inside.txt")),
        Ok(Value::Str("inside".into()))
    );
    assert_eq!(
        call_path(&mut inst, "read", &format!("{g}/sub/../inside.txt")),
        Ok(Value::Str("inside".into()))
    );
    let escape = "the path leads outside the granted directory";
    let cases = [
        (format!("{g}/../outside.txt"), escape.to_string()),
        (format!("{g}/sub/../../outside.txt"), escape.to_string()),
        (format!("{g}/escape.txt"), escape.to_string()),
        (format!("{g}/sub/up.txt"), escape.to_string()),
        (format!("{g}/nothing.txt"), "no such file".to_string()),
        (format!("{g}/sub"), "is a directory".to_string()),
    ];
    for (path, why) in cases {
        assert_eq!(
            call_path(&mut inst, "read", &path),
            Err(format!("fs.read: cannot read '{path}': {why}")),
        );
    }
    for path in [
        "/etc/passwd",
        "outside.txt",
        "../outside.txt",
        "granted/inside.txt",
    ] {
        assert_eq!(
            call_path(&mut inst, "read", path),
            Err(format!(
                "fs.read: '{path}' is outside the directories granted for reading"
            )),
        );
    }
    // Whether a file exists outside is not revealed either.
    assert!(call_path(&mut inst, "exists", &format!("{g}/../outside.txt")).is_err());
    assert_eq!(
        call_path(&mut inst, "exists", &format!("{g}/inside.txt")),
        Ok(Value::Bool(true))
    );
    assert_eq!(
        call_path(&mut inst, "exists", &format!("{g}/nothing.txt")),
        Ok(Value::Bool(false))
    );
    // Writing is a separate grant: granted/sub is writable, granted/ is not.
    assert_eq!(
        call_path(&mut inst, "write", &format!("{g}/inside.txt")),
        Err(format!(
            "fs.write: '{g}/inside.txt' is outside the directories granted for writing"
        ))
    );
    assert_eq!(
        std::fs::read_to_string(s.granted().join("inside.txt")).unwrap(),
        "inside"
    );
}

#[test]
fn writes_stay_inside_the_granted_directory() {
    let s = Scratch::new("write");
    let g = s.granted();
    let g = g.to_str().unwrap();
    let mut linker = Linker::new();
    linker.allow_write(g).unwrap();
    // The module imports reading too: grant it somewhere harmless.
    linker.allow_read(s.0.join("granted/sub")).unwrap();
    let mut inst = linker
        .instantiate(&module(FILES), Limits::default())
        .unwrap();
    let escape = "the path leads outside the granted directory";
    for path in [
        format!("{g}/../outside.txt"),
        format!("{g}/escape.txt"),
        format!("{g}/sub/up.txt"),
    ] {
        for f in ["write", "append"] {
            assert_eq!(
                call_path(&mut inst, f, &path),
                Err(format!("fs.write: cannot write '{path}': {escape}")),
            );
        }
    }
    assert_eq!(
        call_path(&mut inst, "write", "/tmp/tern-hostile-absolute.txt"),
        Err("fs.write: '/tmp/tern-hostile-absolute.txt' is outside the directories granted for writing".into())
    );
    assert!(!Path::new("/tmp/tern-hostile-absolute.txt").exists());
    assert_eq!(s.outside(), "the host's secret", "nothing outside changed");
    assert!(!s.0.join("granted/../outside.txt").is_symlink());
    // Inside, writing and appending work.
    let new = format!("{g}/sub/new.txt");
    assert_eq!(call_path(&mut inst, "write", &new), Ok(Value::Unit));
    assert_eq!(call_path(&mut inst, "append", &new), Ok(Value::Unit));
    assert_eq!(
        std::fs::read_to_string(&new).unwrap(),
        "overwritten by the guest and appended"
    );
    assert!(matches!(
        Linker::new().instantiate(&module(FILES), Limits::default()),
        Err(Error::MissingCapabilities(_))
    ));
}

#[test]
fn ungranted_capabilities_stop_the_module_before_it_runs() {
    let m = module(
        r#"
        import clock;
        import env;
        extern "launch" { fn missiles(n: int) -> bool; }
        fn main() { println("ran"); missiles(clock.now_ms()); println(env.get("HOME", "")); }
        "#,
    );
    let mut linker = Linker::new();
    linker.stdout(Output::Capture);
    match linker.instantiate(&m, Limits::default()) {
        Err(e @ Error::MissingCapabilities(_)) => assert_eq!(
            e.to_string(),
            "the program needs capabilities this host does not grant: \
             clock (now_ms), launch (missiles), env (get)"
        ),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("instantiated without capabilities"),
    }
    // Granted with another signature is refused too.
    linker.allow_clock().allow_env("HOME");
    linker.func("launch", "missiles", |n: i64| n);
    match linker.instantiate(&m, Limits::default()) {
        Err(e) => assert_eq!(
            e.to_string(),
            "the program imports launch.missiles as (int) -> bool, but the host provides (int) -> int"
        ),
        Ok(_) => panic!("a mismatched import was accepted"),
    }
}

#[test]
fn environment_variables_are_granted_one_by_one() {
    std::env::set_var("TERN_HOSTILE_OPEN", "visible");
    std::env::set_var("TERN_HOSTILE_SECRET", "hidden");
    let m = module(r#"import env; fn get(n: str) -> str { return env.get(n, "unset"); }"#);
    let mut linker = Linker::new();
    linker
        .allow_env("TERN_HOSTILE_OPEN")
        .allow_env("TERN_HOSTILE_NEVER_SET");
    let mut inst = linker.instantiate(&m, Limits::default()).unwrap();
    let get = |inst: &mut Instance, n: &str| inst.call("get", &[Value::Str(n.into())]);
    assert_eq!(
        get(&mut inst, "TERN_HOSTILE_OPEN").unwrap(),
        Value::Str("visible".into())
    );
    assert_eq!(
        get(&mut inst, "TERN_HOSTILE_NEVER_SET").unwrap(),
        Value::Str("unset".into())
    );
    match get(&mut inst, "TERN_HOSTILE_SECRET") {
        Err(Error::Trap(t)) => assert_eq!(
            t.message,
            "env: access to variable 'TERN_HOSTILE_SECRET' is not granted"
        ),
        other => panic!("{other:?}"),
    }
}

fn trap_of(r: Result<Value, Error>) -> tern_sandbox::Trap {
    match r {
        Err(Error::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    }
}

const RUNAWAY: &str = r#"
fn spin() -> int { var i = 0; while true { i += 1; } return i; }
fn recurse(n: int) -> int { return recurse(n + 1) + 1; }
fn hoard() -> int {
    var keep: [[int]] = [];
    while true { keep.push([0; 1000]); }
    return len(keep);
}
fn balloon() -> int {
    var s = "x";
    while true { s = s + s; }
    return len(s);
}
fn chatter() { while true { println("spam spam spam spam"); } }
fn ok(x: int) -> int { return x * 2; }
"#;

#[test]
fn every_limit_ends_in_its_own_trap_and_the_instance_lives_on() {
    let m = module(RUNAWAY);
    let limits = Limits {
        fuel: 5_000_000,
        max_heap: 8 << 20,
        max_depth: 1000,
        ..Limits::default()
    };
    let mut linker = Linker::new();
    linker.stdout(Output::Capture).output_limit(1 << 16);
    let mut inst = linker.instantiate(&m, limits).unwrap();

    let t = trap_of(inst.call("spin", &[]));
    assert_eq!(t.kind, TrapKind::FuelExhausted);
    assert_eq!(
        t.message,
        "fuel exhausted: the limit of 5000000 units was reached"
    );
    assert_eq!(t.trace[0].function, "spin");
    assert_eq!(t.trace[0].file, "guest.src");
    inst.reset();

    let t = trap_of(inst.call("recurse", &[Value::Int(0)]));
    assert_eq!(t.kind, TrapKind::StackOverflow);
    assert_eq!(t.message, "stack overflow: more than 1000 nested calls");
    // A deep trace keeps its two ends and counts what it leaves out.
    assert_eq!(t.depth(), 1000);
    assert_eq!(t.trace.len(), 20);
    assert_eq!(t.omitted_frames, 980);
    assert!(t.trace.iter().all(|f| f.function == "recurse"));

    let t = trap_of(inst.call("hoard", &[]));
    assert_eq!(t.kind, TrapKind::OutOfMemory);
    assert_eq!(
        t.message,
        "out of memory: heap limit of 8388608 bytes exceeded"
    );

    let t = trap_of(inst.call("balloon", &[]));
    assert_eq!(t.kind, TrapKind::OutOfMemory);

    let t = trap_of(inst.call("chatter", &[]));
    assert_eq!(t.kind, TrapKind::Host);
    assert_eq!(
        t.message,
        "output limit exceeded: the host captures at most 65536 bytes"
    );
    assert!(inst.take_stdout().starts_with("spam spam"));

    // After all that, the same instance still answers.
    assert_eq!(inst.call("ok", &[Value::Int(21)]).unwrap(), Value::Int(42));
}

#[test]
fn a_timeout_stops_a_guest_that_loops_forever() {
    let m = module(RUNAWAY);
    let limits = Limits {
        timeout: Some(Duration::from_millis(100)),
        ..Limits::default()
    };
    let mut inst = quiet().instantiate(&m, limits).unwrap();
    let start = Instant::now();
    let t = trap_of(inst.call("spin", &[]));
    assert_eq!(t.kind, TrapKind::Timeout);
    assert_eq!(t.message, "timeout: the time limit of 100 ms was exceeded");
    assert!(start.elapsed() < Duration::from_secs(5));
    // Each call gets the full time again.
    assert_eq!(inst.call("ok", &[Value::Int(1)]).unwrap(), Value::Int(2));
}

#[test]
fn another_thread_can_interrupt_a_running_guest() {
    let m = module(RUNAWAY);
    let mut inst = quiet().instantiate(&m, Limits::default()).unwrap();
    let handle = inst.interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
    });
    let t = trap_of(inst.call("spin", &[]));
    stopper.join().unwrap();
    assert_eq!(t.kind, TrapKind::Interrupted);
    assert_eq!(t.message, "interrupted by the host");
    // The request was consumed: the next call runs normally.
    assert_eq!(inst.call("ok", &[Value::Int(4)]).unwrap(), Value::Int(8));
}

#[test]
fn a_runaway_instance_starves_no_other() {
    let m = module(RUNAWAY);
    // Many instances in one process, each with its own limits; one spins
    // on another thread until its timeout while the others keep serving.
    let spinner_module = m.clone();
    let spinner = std::thread::spawn(move || {
        let limits = Limits {
            timeout: Some(Duration::from_millis(300)),
            ..Limits::default()
        };
        let mut inst = quiet().instantiate(&spinner_module, limits).unwrap();
        trap_of(inst.call("spin", &[])).kind
    });
    let mut served = 0;
    let mut others: Vec<Instance> = (0..4)
        .map(|_| quiet().instantiate(&m, Limits::default()).unwrap())
        .collect();
    while !spinner.is_finished() {
        for inst in &mut others {
            assert_eq!(inst.call("ok", &[Value::Int(5)]).unwrap(), Value::Int(10));
            served += 1;
        }
    }
    assert_eq!(spinner.join().unwrap(), TrapKind::Timeout);
    assert!(served > 0);
}

#[test]
fn instances_share_no_state() {
    let m = module(
        r#"
        const COUNT: [int] = [0];
        fn bump() -> int { COUNT[0] += 1; return COUNT[0]; }
        "#,
    );
    let linker = Linker::new();
    let mut a = linker.instantiate(&m, Limits::default()).unwrap();
    let mut b = linker.instantiate(&m, Limits::default()).unwrap();
    for _ in 0..3 {
        a.call("bump", &[]).unwrap();
    }
    assert_eq!(a.call("bump", &[]).unwrap(), Value::Int(4));
    assert_eq!(b.call("bump", &[]).unwrap(), Value::Int(1));
    a.reset();
    assert_eq!(a.call("bump", &[]).unwrap(), Value::Int(1));
}

#[test]
fn without_clock_or_random_a_guest_is_deterministic() {
    let src = r#"
        import random;
        fn roll() -> int { var t = 0; for i in 0..100 { t = t * 31 + random.int(0, 1000); } return t; }
    "#;
    let m = module(src);
    let mut linker = Linker::new();
    linker.allow_random(Some(7));
    let a = linker
        .instantiate(&m, Limits::default())
        .unwrap()
        .call("roll", &[])
        .unwrap();
    let b = linker
        .instantiate(&m, Limits::default())
        .unwrap()
        .call("roll", &[])
        .unwrap();
    assert_eq!(a, b, "a fixed seed gives the same sequence");
    let mut unseeded = Linker::new();
    unseeded.allow_random(None);
    let c = unseeded
        .instantiate(&m, Limits::default())
        .unwrap()
        .call("roll", &[])
        .unwrap();
    let d = unseeded
        .instantiate(&m, Limits::default())
        .unwrap()
        .call("roll", &[])
        .unwrap();
    assert_ne!(c, d, "OS seeds differ");
    let bad = module(r#"import random; fn f() -> int { return random.int(5, 5); }"#);
    let t = trap_of(
        linker
            .instantiate(&bad, Limits::default())
            .unwrap()
            .call("f", &[]),
    );
    assert_eq!(t.message, "random.int: empty range 5..5");
}

#[test]
fn instances_and_modules_move_between_threads() {
    fn send<T: Send>() {}
    fn shared<T: Send + Sync>() {}
    send::<Instance>();
    shared::<Module>();
    shared::<Linker>();
    shared::<tern_sandbox::InterruptHandle>();
    let m = module(RUNAWAY);
    let mut inst = quiet().instantiate(&m, Limits::default()).unwrap();
    let r = std::thread::spawn(move || inst.call("ok", &[Value::Int(3)]).unwrap())
        .join()
        .unwrap();
    assert_eq!(r, Value::Int(6));
}
