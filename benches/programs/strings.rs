fn main() {
    let n = std::hint::black_box(300000);
    let parts: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let joined = parts.join(",");
    let total: usize = joined.split(',').map(|p| p.len()).sum();
    let mut s = String::new();
    for _ in 0..20000 { s = s + "ab"; }
    let hits = (0..100000).filter(|&i| &joined[i..i + 3] == "123").count();
    println!("{} {} {} {}", joined.len(), total, s.len(), hits);
}
