use std::collections::HashMap;
fn main() {
    let n = std::hint::black_box(1000000i64);
    let mut m: HashMap<i64, i64> = HashMap::new();
    for i in 0..n { m.insert(i * 7 % 1000003, i); }
    let mut sum = 0;
    for i in 0..2000000 { sum += m.get(&i).copied().unwrap_or(1); }
    let mut words: HashMap<String, i64> = HashMap::new();
    for i in 0..200000 { *words.entry(format!("k{}", i % 5000)).or_insert(0) += 1; }
    println!("{} {} {} {}", m.len(), sum, words.len(), words["k42"]);
}
