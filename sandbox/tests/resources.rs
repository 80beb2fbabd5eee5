//! Resource control under attack (issue 10): a guest whose instructions do
//! work proportional to its data, or that aims at the collector, the map,
//! the host boundary or the call stack, still gets no more CPU, memory or
//! time than its limits say, and a panic anywhere stays inside the
//! instance it happened in.
//!
//! Times are asserted only as generous upper bounds where the point is
//! that something ends at all (the suite also runs under qemu); what can be
//! counted (fuel, collections, accounted bytes) is asserted exactly.

use std::time::{Duration, Instant};
use tern_sandbox::{Error, Instance, Limits, Linker, Module, Output, Trap, TrapKind, Value};

fn module(src: &str) -> Module {
    Module::from_source("guest.src", src).unwrap_or_else(|e| panic!("{e}"))
}

fn instance(src: &str, limits: Limits) -> Instance {
    let mut linker = Linker::new();
    linker.stdout(Output::Capture);
    linker.instantiate(&module(src), limits).unwrap()
}

fn trap_of<T: std::fmt::Debug>(r: Result<T, Error>) -> Trap {
    match r {
        Err(Error::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// Runs `f` and asserts it took less than `bound`: a bound on the order
/// of seconds, for things the old code took tens of seconds or forever to
/// do, so that a slow emulator cannot make the test fail.
fn within<T>(bound: Duration, what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let r = f();
    let took = start.elapsed();
    assert!(took < bound, "{what} took {took:?}, more than {bound:?}");
    r
}

/// A guest that builds a string of `2^k` bytes of `a` and searches it for
/// `ab` forever, or `n` times.
const SEARCH: &str = r#"
fn big(k: int) -> str {
    var s = "a";
    for i in 0..k { s = s + s; }
    return s;
}
fn search_forever(k: int) -> int {
    let s = big(k);
    var hits = 0;
    while true { hits += s.find("ab") + 1; }
    return hits;
}
fn search(k: int, n: int) -> int {
    let s = big(k);
    var hits = 0;
    for i in 0..n { hits += s.find("ab") + 1; }
    return hits;
}
"#;

#[test]
fn fuel_is_charged_for_the_bytes_an_instruction_touches_before_it_touches_them() {
    // Building 32 MiB by doubling costs 2^20 - 1 work units (each copy of
    // 64 bytes is one); a search of it costs 2^19 more.
    for (fuel, function, line) in [(400, "big", 4), (1_200_000, "search_forever", 10)] {
        let mut inst = instance(
            SEARCH,
            Limits {
                fuel,
                ..Limits::default()
            },
        );
        let t = within(Duration::from_secs(20), "a guest without the fuel", || {
            trap_of(inst.call("search_forever", &[Value::Int(25)]))
        });
        assert_eq!(t.kind, TrapKind::FuelExhausted);
        assert_eq!(
            t.message,
            format!("fuel exhausted: the limit of {fuel} units was reached")
        );
        assert_eq!(
            (t.trace[0].function.as_str(), t.trace[0].line),
            (function, line),
            "it stopped before the work"
        );
    }
    // What work costs is the same on every machine: building 4 KiB by
    // doubling (every `s + s` copies both halves: a buffer cannot be
    // appended to itself) and three searches of it.
    let mut counted = instance(
        SEARCH,
        Limits {
            count_instructions: true,
            ..Limits::default()
        },
    );
    assert_eq!(
        counted
            .call("search", &[Value::Int(12), Value::Int(3)])
            .unwrap(),
        Value::Int(0)
    );
    let s = counted.stats();
    let doubling: u64 = (0..12).map(|i| (2u64 << i) / 64).sum();
    assert_eq!(s.fuel - s.instructions, doubling + 3 * (4098 / 64));
}

#[test]
fn a_timeout_lands_in_time_whatever_each_instruction_costs() {
    // Each search takes milliseconds; the old poll every 10,000
    // instructions saw the clock only after thousands of them.
    let mut inst = instance(
        SEARCH,
        Limits {
            timeout: Some(Duration::from_millis(200)),
            ..Limits::default()
        },
    );
    let t = within(Duration::from_secs(5), "a timed-out search loop", || {
        trap_of(inst.call("search_forever", &[Value::Int(25)]))
    });
    assert_eq!(t.kind, TrapKind::Timeout);
    assert_eq!(t.message, "timeout: the time limit of 200 ms was exceeded");
}

#[test]
fn an_interrupt_lands_in_time_whatever_each_instruction_costs() {
    let mut inst = instance(SEARCH, Limits::default());
    let handle = inst.interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        handle.interrupt();
    });
    let t = within(Duration::from_secs(5), "an interrupted search loop", || {
        trap_of(inst.call("search_forever", &[Value::Int(25)]))
    });
    stopper.join().unwrap();
    assert_eq!(t.kind, TrapKind::Interrupted);
}

/// Grows and empties arrays and maps, keeping each: the old accounting
/// charged what they held by their lengths, so the capacity they kept was
/// free.
const HOARD: &str = r#"
fn main(args: [str]) {
    let n = int(args[1]).unwrap();
    var arrays: [[int]] = [];
    var maps: [{int: int}] = [];
    for a in 0..int(args[0]).unwrap() {
        var xs: [int] = [];
        for i in 0..n { xs.push(i); }
        while len(xs) > 0 { xs.pop(); }
        arrays.push(xs);
        var m: {int: int} = {};
        for i in 0..n { m[i * 7919] = i; }
        for i in 0..n { m.remove(i * 7919); }
        maps.push(m);
    }
    println(str(len(arrays) + len(maps)));
}
"#;

#[test]
fn memory_held_is_memory_charged() {
    // A map with one key, 67, holds a dense index of 68 slots: it is
    // charged for them (it was charged 72 bytes in all).
    let src = r#"
fn maps(count: int) -> int {
    var keep: [{int: int}] = [];
    for a in 0..count {
        var m: {int: int} = {};
        m[67] = 1;
        keep.push(m);
    }
    return len(keep);
}
"#;
    let mut inst = instance(src, Limits::default());
    let before = inst.heap_bytes();
    inst.call("maps", &[Value::Int(1000)]).unwrap();
    let per_map = (inst.heap_bytes() - before) / 1000;
    assert!(
        per_map >= 48 + 64 + 4 * 68,
        "a map is charged {per_map} bytes"
    );
}

/// The most memory a `vmrun` child used (its peak resident set, polled
/// from /proc), and its exit code.
#[cfg(target_os = "linux")]
fn vmrun_peak_rss(args: &[&str]) -> (u64, i32) {
    // glibc's malloc raises its mmap threshold each time it frees a
    // mapped chunk, after which large buffers come from the heap, where
    // how much stays resident depends on where every earlier allocation
    // fell: the same guest allocations measured 78 MB, and 143 MB once a
    // few kilobytes more were allocated and freed at start (compiling
    // `main`). A fixed threshold measures what the VM holds, not that.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vmrun"))
        .env("MALLOC_MMAP_THRESHOLD_", "131072")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            for line in text.lines() {
                if let Some(kb) = line.strip_prefix("VmHWM:") {
                    let kb = kb.trim().trim_end_matches("kB").trim();
                    peak = peak.max(kb.parse::<u64>().unwrap_or(0) * 1024);
                }
            }
        }
        if let Some(code) = child.try_wait().unwrap() {
            return (peak, code.code().unwrap_or(-1));
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "vmrun did not end"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_guest_holds_no_more_memory_than_a_small_factor_of_its_heap_limit() {
    // Under an emulator the process measured would be the emulator.
    if std::env::var_os("TERN_TEST_RUNNER").is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tern-hoard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("hoard.src");
    std::fs::write(&src, HOARD).unwrap();
    let src = src.to_str().unwrap();
    // 400 arrays and 400 maps of 20,000 entries each, grown and emptied:
    // held at their peak capacity, that is over 700 MB.
    let (peak, code) = vmrun_peak_rss(&["--max-heap", "16M", src, "400", "20000"]);
    assert_eq!(code, 0);
    let allowed = 3 * (16 << 20) + (64 << 20);
    assert!(peak < allowed, "peak RSS {peak} bytes under --max-heap 16M");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sizes_computed_from_guest_values_cannot_overflow() {
    let src = "fn rep(n: int) -> int { let a = [7; n]; return len(a); }";
    let mut inst = instance(
        src,
        Limits {
            max_heap: usize::MAX,
            ..Limits::default()
        },
    );
    for n in [1i64 << 62, i64::MAX, 1 << 40] {
        let t = trap_of(inst.call("rep", &[Value::Int(n)]));
        assert_eq!(t.kind, TrapKind::OutOfMemory, "[7; {n}]");
    }
    assert_eq!(inst.call("rep", &[Value::Int(3)]).unwrap(), Value::Int(3));
    // A string joined to itself far past the host's memory: a trap, not
    // an abort.
    let src = r#"
fn many(k: int) -> int {
    var s = "x";
    for i in 0..20 { s = s + s; }
    let parts = [s; k];
    return len(parts.join(""));
}
"#;
    let mut inst = instance(
        src,
        Limits {
            max_heap: usize::MAX,
            ..Limits::default()
        },
    );
    let t = trap_of(inst.call("many", &[Value::Int(1 << 24)]));
    assert_eq!(
        t.message,
        "out of memory: the host cannot allocate that much"
    );
    assert_eq!(t.kind, TrapKind::OutOfMemory);
}

#[test]
fn live_data_near_the_limit_does_not_make_every_allocation_collect() {
    // With live data just under the limit, every small allocation used to
    // run a full collection over all of it (2,000 `str` calls took 3.9 s):
    // each collection freed the last piece of garbage, and no more.
    let src = r#"
fn run(live: int, garbage: int) -> int {
    var keep: [str] = [];
    for i in 0..live { keep.push("kept " + str(i)); }
    var pad = "";
    for i in 0..200 { pad = pad + "p"; }
    for i in 0..garbage { let g = pad + str(i); }
    return len(keep);
}
"#;
    let limits = Limits {
        max_heap: 4 << 20,
        ..Limits::default()
    };
    let run = |live: i64, garbage: i64| {
        let mut inst = instance(src, limits.clone());
        let r = inst.call("run", &[Value::Int(live), Value::Int(garbage)]);
        (r.is_ok(), inst.stats().collections)
    };
    // The most live strings that fit.
    let (mut lo, mut hi) = (1000i64, 1_000_000i64);
    assert!(run(lo, 0).0 && !run(hi, 0).0);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if run(mid, 0).0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // Just under that, the garbage either fits after a few collections or
    // the heap is too full to run in: out of memory, also after a few.
    for k in [0, 1, 2, 3, 5, 8, 12, 20] {
        let (_, before) = run(lo - k, 0);
        let (ok, after) = run(lo - k, 2000);
        assert!(
            after - before < 30,
            "{} collections for 2,000 small allocations {k} strings under the most that fit (ok: {ok})",
            after - before
        );
    }
}

#[test]
fn splitting_a_large_string_needs_only_what_its_pieces_take() {
    // 32 MiB in 1024 pieces: the old split reserved 40 bytes per input
    // byte (1.3 GiB) before it looked.
    let src = r#"
fn pieces() -> int {
    var s = "x";
    for i in 0..15 { s = s + s; }
    s = s + ",";
    var t = s;
    for i in 0..10 { t = t + t; }
    return len(t.split(","));
}
"#;
    let mut inst = instance(src, Limits::default());
    assert_eq!(inst.call("pieces", &[]).unwrap(), Value::Int(1025));
}

#[test]
fn messages_quote_long_values_shortened() {
    let src = r#"
fn big() -> str {
    var s = "9";
    for i in 0..20 { s = s + s; }
    return s + "!";
}
fn parse() -> int { return int(big()).unwrap(); }
fn missing() -> int { let m: {str: int} = {}; return m[big()]; }
"#;
    let mut inst = instance(src, Limits::default());
    let nines = "9".repeat(80);
    let t = trap_of(inst.call("parse", &[]));
    assert_eq!(
        t.message,
        format!("called unwrap on Err: invalid int: \"{nines}\"… (1048577 bytes)")
    );
    let t = trap_of(inst.call("missing", &[]));
    assert_eq!(
        t.message,
        format!("key not found: \"{nines}\"… (1048577 bytes)")
    );
    // Host functions' errors quote what the guest gave them the same way.
    let src = r#"
import fs;
fn read(n: int) -> str {
    var p = "d";
    for i in 0..n { p = p + p; }
    return match fs.read(p) { Ok(t) => t, Err(e) => panic(e) };
}
"#;
    let mut linker = Linker::new();
    linker.allow_read(std::env::temp_dir()).unwrap();
    let mut inst = linker.instantiate(&module(src), Limits::default()).unwrap();
    let t = trap_of(inst.call("read", &[Value::Int(20)]));
    assert_eq!(
        t.message,
        format!(
            "fs.read: '{}…' (1048576 bytes) is outside the directories granted for reading",
            "d".repeat(80)
        )
    );
}

#[test]
fn copies_to_the_host_are_bounded_by_the_heap_limit() {
    // One string referred to many times is one string in the guest and
    // many on the host: 1.5 MB of guest heap became 3.1 GB of host memory.
    let src = r#"
fn fanout(n: int) -> [str] {
    var s = "x";
    for i in 0..16 { s = s + s; }
    return [s; n];
}
extern "host" { fn take(items: [str]) -> int; }
fn give(n: int) -> int { return take(fanout(n)); }
"#;
    let m = module(src);
    let mut linker = Linker::new();
    linker.func("host", "take", |items: Vec<String>| items.len() as i64);
    let limits = Limits {
        max_heap: 64 << 20,
        ..Limits::default()
    };
    let mut inst = linker.instantiate(&m, limits).unwrap();
    // 100 copies of 64 KiB fit; 50,000 (3.2 GB) do not.
    assert_eq!(
        inst.call("give", &[Value::Int(100)]).unwrap(),
        Value::Int(100)
    );
    let expected = "out of memory: a value copied to the host would take more than the heap limit of 67108864 bytes";
    let t = within(Duration::from_secs(20), "a refused copy", || {
        trap_of(inst.call("fanout", &[Value::Int(50_000)]))
    });
    assert_eq!(
        (t.kind.clone(), t.message.as_str()),
        (TrapKind::OutOfMemory, expected)
    );
    let t = trap_of(inst.call("give", &[Value::Int(50_000)]));
    assert_eq!(
        (t.kind, t.message.as_str()),
        (TrapKind::OutOfMemory, expected)
    );
    assert_eq!(t.trace[0].function, "give");
    // Copies are charged fuel for what they make.
    let mut fueled = linker
        .instantiate(
            &m,
            Limits {
                fuel: 100_000,
                ..Limits::default()
            },
        )
        .unwrap();
    let t = trap_of(fueled.call("give", &[Value::Int(1000)]));
    assert_eq!(t.kind, TrapKind::FuelExhausted);
}

#[test]
fn a_deep_recursion_costs_bounded_memory_and_a_short_trace() {
    let src = "fn f() { f(); }\nfn g(n: int) -> int { return g(n + 1); }";
    let mut inst = instance(
        src,
        Limits {
            max_depth: 40_000_000,
            ..Limits::default()
        },
    );
    let t = within(Duration::from_secs(60), "a million frames", || {
        trap_of(inst.call("f", &[]))
    });
    assert_eq!(t.kind, TrapKind::StackOverflow);
    assert_eq!(t.message, "stack overflow: more than 1048576 nested calls");
    assert_eq!(t.trace.len(), 20);
    assert_eq!(t.depth(), 1 << 20);
    assert_eq!(t.to_string().lines().count(), 1 + 20 + 1);
    assert!(t.to_string().contains("  ... 1048556 more frames ...\n"));
}

/// Seconds `f` takes.
fn seconds<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed().as_secs_f64())
}

#[test]
fn hash_collisions_cannot_be_crafted_against_the_map() {
    // Keys made to collide under the old, unseeded hash (all 20,000 in
    // one bucket of any table up to 2^16 slots) took 1.6 s where others
    // took no time; now they cost what any keys cost.
    let n = 20_000;
    let crafted = crafted_colliding_keys(n);
    let plain: Vec<i64> = (1..=n as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) as i64)
        .collect();
    let src = r#"
fn count(keys: [int]) -> int {
    var m: {int: int} = {};
    for k in keys { m[k] = m.get(k, 0) + 1; }
    var sum = 0;
    for k in keys { sum += m[k]; }
    return sum;
}
"#;
    let mut inst = instance(src, Limits::default());
    let mut time = |keys: &[i64]| {
        let arg = Value::Array(keys.iter().map(|k| Value::Int(*k)).collect());
        let (r, t) = seconds(|| inst.call("count", &[arg]).unwrap());
        assert_eq!(r, Value::Int(n as i64));
        t
    };
    time(&plain);
    let (plain_time, crafted_time) = (time(&plain), time(&crafted));
    assert!(
        crafted_time < 10.0 * plain_time + 0.05,
        "crafted keys took {crafted_time:.3} s, others {plain_time:.3} s"
    );
}

/// Keys whose old hash (a multiply-rotate FxHash step, then a fixed
/// avalanche: both invertible) is `i << 16`, computed backwards.
fn crafted_colliding_keys(n: usize) -> Vec<i64> {
    fn inverse(c: u64) -> u64 {
        // Newton's iteration for the inverse of an odd number mod 2^64.
        let mut x = c;
        for _ in 0..6 {
            x = x.wrapping_mul(2u64.wrapping_sub(c.wrapping_mul(x)));
        }
        x
    }
    let unshift = |y: u64| y ^ (y >> 33);
    let (c1, c2) = (0x517c_c1b7_2722_0a95u64, 0xff51_afd7_ed55_8ccdu64);
    (1..=n as u64)
        .map(|i| {
            let h = i << 16;
            let x2 = unshift(h).wrapping_mul(inverse(c2));
            unshift(x2).wrapping_mul(inverse(c1)) as i64
        })
        .collect()
}

#[test]
fn the_old_hash_is_inverted_right() {
    fn old_hash(k: u64) -> u64 {
        let x = k.wrapping_mul(0x517c_c1b7_2722_0a95);
        let x = x ^ (x >> 33);
        let x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
    for (i, k) in crafted_colliding_keys(100).into_iter().enumerate() {
        assert_eq!(old_hash(k as u64), (i as u64 + 1) << 16);
    }
}

#[test]
fn removing_from_the_front_of_a_map_costs_what_removing_from_the_back_does() {
    // Removal shifted every later entry: the front half of 200,000 keys
    // took 9.2 s, the back half 10 ms.
    let src = r#"
fn drain(n: int, front: bool) -> int {
    var m: {str: int} = {};
    for i in 0..n { m["k" + str(i)] = i; }
    for j in 0..n / 2 {
        var i = n - 1 - j;
        if front { i = j; }
        m.remove("k" + str(i));
    }
    var first = -1;
    for k, v in m { if first < 0 { first = v; } }
    return first * 1000000 + len(m);
}
"#;
    let n = 100_000i64;
    let mut inst = instance(src, Limits::default());
    let mut time = |front: bool| {
        let (r, t) = seconds(|| {
            inst.call("drain", &[Value::Int(n), Value::Bool(front)])
                .unwrap()
        });
        let first = if front { n / 2 } else { 0 };
        assert_eq!(r, Value::Int(first * 1_000_000 + n / 2));
        t
    };
    time(false);
    let (back, front) = (time(false), time(true));
    assert!(
        front < 5.0 * back + 0.05,
        "front {front:.3} s, back {back:.3} s"
    );
}

#[test]
fn a_panic_in_a_host_function_poisons_its_instance_and_nothing_else() {
    let src = r#"
extern "host" { fn boom(x: int) -> int; }
fn call(x: int) -> int { return boom(x); }
fn ok(x: int) -> int { return x + 1; }
"#;
    let m = module(src);
    let mut linker = Linker::new();
    linker.func("host", "boom", |x: i64| -> i64 {
        if x == 13 {
            panic!("unlucky {x}");
        }
        x * 2
    });
    let mut a = linker.instantiate(&m, Limits::default()).unwrap();
    let mut b = linker.instantiate(&m, Limits::default()).unwrap();
    assert_eq!(a.call("call", &[Value::Int(2)]).unwrap(), Value::Int(4));
    let t = trap_of(a.call("call", &[Value::Int(13)]));
    assert_eq!(t.kind, TrapKind::Internal);
    assert_eq!(t.message, "internal error: unlucky 13");
    assert!(a.is_poisoned());
    // Every later call fails cleanly, without running guest code.
    let t = trap_of(a.call("ok", &[Value::Int(1)]));
    assert_eq!(t.kind, TrapKind::Internal);
    assert_eq!(
        t.message,
        "the instance is unusable after an internal error (unlucky 13); reset or drop it"
    );
    // Another instance of the same module, and the host, carry on.
    assert_eq!(b.call("call", &[Value::Int(5)]).unwrap(), Value::Int(10));
    // A reset makes the instance usable again.
    a.reset();
    assert!(!a.is_poisoned());
    assert_eq!(a.call("ok", &[Value::Int(1)]).unwrap(), Value::Int(2));
}

#[test]
fn compacting_a_map_never_lets_the_heap_pass_its_limit() {
    // Compaction once rebuilt a map with an index of another kind, larger
    // than before, without telling the heap: repeated, the shortfall let
    // a guest hold 64 MiB under a 16 MiB limit.
    let src = r#"
fn churn(m: {int: int}) -> int {
    for k in 0..1024 { m[k] = k; }
    for k in 0..894 { m.remove(k); }
    return len(m.keys());
}
fn both() -> int {
    var held: [[int]] = [];
    var n = 0;
    for i in 0..8 {
        for r in 0..200 { var m: {int: int} = {}; n += churn(m); }
        held.push([i; 1048576]);
    }
    return n + len(held);
}
"#;
    let mut inst = instance(
        src,
        Limits {
            max_heap: 16 << 20,
            ..Limits::default()
        },
    );
    let t = trap_of(inst.call("both", &[]));
    assert_eq!(t.kind, TrapKind::OutOfMemory);
}

#[test]
fn a_call_copies_its_arguments_in_under_its_own_deadline() {
    // Arguments were copied in under the previous call's deadline: after
    // a pause, a collection during the copy found it passed.
    let src = r#"
fn garbage(n: int) -> int {
    var keep: [[int]] = [];
    for i in 0..n { keep.push([i]); }
    return len(keep);
}
fn take(s: str) -> int { return len(s); }
"#;
    let mut inst = instance(
        src,
        Limits {
            // Room for the first call on a loaded machine (CI runs tests
            // in parallel): it takes about 70 ms alone.
            timeout: Some(Duration::from_millis(1500)),
            ..Limits::default()
        },
    );
    assert_eq!(
        inst.call("garbage", &[Value::Int(200_000)]).unwrap(),
        Value::Int(200_000)
    );
    std::thread::sleep(Duration::from_millis(1600));
    let big = "z".repeat(16 << 20);
    assert_eq!(
        inst.call("take", &[Value::Str(big)]).unwrap(),
        Value::Int(16 << 20)
    );
}

#[test]
fn a_timeout_lands_in_time_inside_one_split() {
    // A split searched and copied a batch of pieces without looking at
    // the clock: one split of 512 MiB missed a 5 ms timeout by seconds.
    // (The string comes from the host, so the split is the guest's only
    // long work.)
    let src = "fn split_it(s: str) -> int { return len(s.split(\"ab\")); }";
    let mut inst = instance(
        src,
        Limits {
            timeout: Some(Duration::from_millis(5)),
            ..Limits::default()
        },
    );
    let big = "a".repeat(64 << 20);
    let t = within(Duration::from_secs(5), "a split under a timeout", || {
        trap_of(inst.call("split_it", &[Value::Str(big)]))
    });
    assert_eq!(t.kind, TrapKind::Timeout);
}

#[test]
fn a_timeout_stops_a_sort_cleanly() {
    // Sorting strings that share a long prefix: each comparison reads
    // kilobytes. A timeout inside the sort is a Timeout trap (the sort
    // stops between merges; it used to be able to panic the host when a
    // stopped comparison turned inconsistent), and the array keeps every
    // element.
    let src = "fn sort_them(prefix: str) -> int {
        var xs: [str] = [];
        for i in 0..20000 { xs.push(prefix + str((i * 7919) % 20011)); }
        xs.sort();
        return len(xs);
    }";
    let mut inst = instance(
        src,
        Limits {
            timeout: Some(Duration::from_millis(20)),
            ..Limits::default()
        },
    );
    let prefix = "p".repeat(64 << 10);
    let t = within(Duration::from_secs(20), "a sort under a timeout", || {
        trap_of(inst.call("sort_them", &[Value::Str(prefix)]))
    });
    assert_eq!(t.kind, TrapKind::Timeout);
}

#[test]
fn text_of_a_value_stays_within_the_heap_limit() {
    // `str` of an array holding a long string of control characters: the
    // escaped text would be five times as long; it is refused before it
    // is built, as out of memory.
    let src = "fn show(s: str) -> int { return len(str([s])); }";
    let mut inst = instance(
        src,
        Limits {
            max_heap: 8 << 20,
            ..Limits::default()
        },
    );
    let t = trap_of(inst.call("show", &[Value::Str("\u{1}".repeat(4 << 20))]));
    assert_eq!(t.kind, TrapKind::OutOfMemory);
}

#[test]
fn an_array_of_bools_is_accounted_a_byte_per_element() {
    let src = "
fn flags(n: int) -> int { var a = [false; n]; a[n - 1] = true; return len(a); }
fn words(n: int) -> int { let a = [0; n]; return len(a); }
";
    let limits = Limits {
        max_heap: 1 << 20,
        ..Limits::default()
    };
    let mut inst = instance(src, limits.clone());
    let r = inst.call("flags", &[Value::Int(1_000_000)]);
    assert_eq!(r.unwrap(), Value::Int(1_000_000));
    // The array's 1,000,000 bytes and its object's 48, and no more than
    // a little besides.
    let peak = inst.stats().peak_heap_bytes;
    assert!(
        (1_000_048..1_000_048 + 4096).contains(&peak),
        "peak heap {peak}"
    );
    let mut inst = instance(src, limits.clone());
    let t = trap_of(inst.call("words", &[Value::Int(140_000)]));
    assert_eq!(t.kind, TrapKind::OutOfMemory, "8 bytes an int");
    // Copied in from the host, the same: 300,000 bools fit in 1 MiB.
    let src =
        "fn trues(xs: [bool]) -> int { var n = 0; for x in xs { if x { n += 1; } } return n; }";
    let mut inst = instance(src, limits);
    let xs: Vec<Value> = (0..300_000).map(|i| Value::Bool(i % 3 == 0)).collect();
    let r = inst.call("trues", &[Value::Array(xs)]);
    assert_eq!(r.unwrap(), Value::Int(100_000));
}
