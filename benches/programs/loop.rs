fn main() {
    let n = std::hint::black_box(30_000_000i64);
    let mut s = 0i64;
    for i in 0..n { s = (s + i * i) % 1000003; }
    println!("{s}");
}
