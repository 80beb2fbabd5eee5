#!/usr/bin/env python3
"""Runs the program suite in Tern and in whichever peers are installed
(Lua 5.4, LuaJIT's interpreter and JIT, CPython, native Rust), checks that
every implementation prints the same output, and prints a table of times
and ratios.

Usage: benches/compare.py [--runs N] [--pgo] [--style2] [--jit MODE] [--interp] [program ...]

Times are the best of N runs (default 3) of the whole process, so they
include start-up and, for Tern, loading and verifying the .bc file. The
runs of all implementations of a program are interleaved, so a slow patch
of a shared machine slows them alike.

Tern runs as `vmrun` does by default (the JIT on: functions compiled
once hot); --jit MODE runs it with `vmrun --jit=MODE` (off, on, eager).
With --interp, the table gains a column for Tern's interpreter alone
(`--jit=off`), so its ratio is the JIT's speed-up.

With --style2, each program's second-style version (programs/style2/:
while loops, named constants, helper functions and methods) also runs in
Tern, in the same build; its output must equal the first style's, and the
table gains its time and the ratio style2/style1 (above 1 means the second
style is slower).
"""
import argparse
import math
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROGRAMS = os.path.join(HERE, "programs")
STYLE2 = os.path.join(PROGRAMS, "style2")
OUT = os.path.join(ROOT, "target", "bench-suite")
STYLE2_LABEL = "tern style 2"
SUITE = ["fib", "loop", "sieve", "nbody", "spectral_norm", "binary_trees",
         "fannkuch", "mandelbrot", "strings", "maps"]


def run_once(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), p.stderr.decode()[:500]))
    return dt, p.stdout


def run_all(cmds):
    """Best time and output of each command. Runs are interleaved (one of
    each, N times over) so that a slow patch of the machine hits every
    implementation alike rather than one."""
    best = {}
    out = {}
    for _ in range(ARGS.runs):
        for label, cmd in cmds:
            dt, o = run_once(cmd)
            out[label] = o
            best[label] = min(best.get(label, dt), dt)
    return best, out


def real_executable(cmd):
    """The interpreter a command name runs, past any wrapper script: a
    version manager's shim (pyenv's `python3` is a shell script) would
    otherwise add its own start-up, tens of milliseconds, to every run."""
    path = shutil.which(cmd)
    if not path:
        return None
    try:
        out = subprocess.run([path, "-c", "import sys; print(sys.executable)"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
        return out.stdout.decode().strip() or path
    except (OSError, subprocess.CalledProcessError):
        return path


def cpython():
    """CPython to compare with: the distribution's build if there is one
    (Debian's is built with profile-guided optimization and LTO, as most
    users get it), else whatever `python3` resolves to. Override with
    TERN_BENCH_PYTHON."""
    if os.environ.get("TERN_BENCH_PYTHON"):
        return os.environ["TERN_BENCH_PYTHON"]
    if os.path.exists("/usr/bin/python3"):
        return "/usr/bin/python3"
    return real_executable("python3")


def peers(name):
    src = lambda ext: os.path.join(PROGRAMS, name + "." + ext)
    found = []
    if shutil.which("lua5.4"):
        found.append(("lua5.4", ["lua5.4", src("lua")]))
    if shutil.which("luajit"):
        found.append(("luajit -joff", ["luajit", "-joff", src("lua")]))
        found.append(("luajit", ["luajit", src("lua")]))
    if PYTHON:
        found.append(("python3", [PYTHON, src("py")]))
    native = os.path.join(OUT, name + "-native")
    if os.path.exists(native):
        found.append(("rust", [native]))
    return found


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pgo", action="store_true",
                    help="build Tern with profile-guided optimization (scripts/build-pgo.sh) first")
    ap.add_argument("--style2", action="store_true",
                    help="also run each program's second-style version (programs/style2/) in Tern")
    ap.add_argument("--jit", default="on", choices=["off", "on", "eager"],
                    help="the JIT mode Tern runs in (vmrun --jit=MODE)")
    ap.add_argument("--interp", action="store_true",
                    help="also run Tern with the JIT off, as a column of its own")
    ap.add_argument("programs", nargs="*", default=SUITE)
    ARGS = ap.parse_args()
    global PYTHON
    PYTHON = cpython()
    if PYTHON:
        version = subprocess.run([PYTHON, "--version"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT).stdout.decode().strip()
        print("python3 is %s (%s)" % (PYTHON, version), file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    if ARGS.pgo:
        subprocess.run([os.path.join(ROOT, "scripts", "build-pgo.sh")], cwd=ROOT, check=True)
    else:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "tern-compiler", "-p", "tern-sandbox"],
                       cwd=ROOT, check=True)
    print("tern: %s build" % ("profile-guided (scripts/build-pgo.sh)" if ARGS.pgo else "plain release"),
          file=sys.stderr)
    vmc = os.path.join(ROOT, "target", "release", "vmc")
    vmrun = os.path.join(ROOT, "target", "release", "vmrun")
    rustc = shutil.which("rustc")
    rows = []
    columns = []
    for name in ARGS.programs:
        bc = os.path.join(OUT, name + ".bc")
        subprocess.run([vmc, "build", os.path.join(PROGRAMS, name + ".src"), "-o", bc], check=True)
        if rustc:
            subprocess.run([rustc, "-O", "-o", os.path.join(OUT, name + "-native"),
                            os.path.join(PROGRAMS, name + ".rs")], check=True)
        jit = "--jit=" + ARGS.jit
        cmds = [("tern", [vmrun, jit, bc])]
        if ARGS.style2:
            bc2 = os.path.join(OUT, name + "-style2.bc")
            subprocess.run([vmc, "build", os.path.join(STYLE2, name + ".src"), "-o", bc2], check=True)
            cmds.append((STYLE2_LABEL, [vmrun, jit, bc2]))
        if ARGS.interp:
            cmds.append(("tern --jit=off", [vmrun, "--jit=off", bc]))
        cmds += peers(name)
        best, outs = run_all(cmds)
        t_tern, expected = best["tern"], outs["tern"]
        row = {"program": name, "tern": t_tern}
        if ARGS.style2:
            if outs[STYLE2_LABEL] != expected:
                sys.exit("error: the second style's output differs from the first style's for %s" % name)
            row[STYLE2_LABEL] = best[STYLE2_LABEL]
        for label, _ in cmds[1 + ARGS.style2:]:
            if outs[label].split() != expected.split():
                print("warning: %s output differs from Tern's for %s" % (label, name), file=sys.stderr)
            row[label] = best[label]
            if label not in columns:
                columns.append(label)
        rows.append(row)
        style2 = " style2 %.3fs (%.2fx)" % (row[STYLE2_LABEL], row[STYLE2_LABEL] / t_tern) if ARGS.style2 else ""
        print("%-14s tern %.3fs %s %s" % (name, t_tern, style2, "  ".join(
            "%s %.3fs" % (c, row[c]) for c in columns if c in row)), file=sys.stderr)

    head = "| program | tern (s) | "
    if ARGS.style2:
        head += "%s (s) | style2/style1 | " % STYLE2_LABEL
    head += " | ".join("%s (s) | %s/tern" % (c, c) for c in columns) + " |"
    print(head)
    print("|" + "---|" * (2 + 2 * ARGS.style2 + 2 * len(columns)))
    logs = {c: [] for c in columns}
    style2_logs = []
    for r in rows:
        cells = ["%s" % r["program"], "%.3f" % r["tern"]]
        if ARGS.style2:
            ratio = r[STYLE2_LABEL] / r["tern"]
            style2_logs.append(math.log(ratio))
            cells += ["%.3f" % r[STYLE2_LABEL], "%.2f" % ratio]
        for c in columns:
            if c in r:
                ratio = r[c] / r["tern"]
                logs[c].append(math.log(ratio))
                cells += ["%.3f" % r[c], "%.2f" % ratio]
            else:
                cells += ["-", "-"]
        print("| " + " | ".join(cells) + " |")
    geo = ["**geometric mean**", ""]
    if ARGS.style2:
        geo += ["", "**%.2f**" % math.exp(sum(style2_logs) / len(style2_logs))]
    for c in columns:
        g = math.exp(sum(logs[c]) / len(logs[c])) if logs[c] else float("nan")
        geo += ["", "**%.2f**" % g]
    print("| " + " | ".join(geo) + " |")
    print("\nA ratio above 1 means the peer took longer than Tern%s." % (
        " (style2/style1: the second style took longer than the first)" if ARGS.style2 else ""))


if __name__ == "__main__":
    main()
