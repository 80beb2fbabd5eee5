fn count_primes(limit: usize) -> i64 {
    let mut composite = vec![false; limit + 1];
    let mut count = 0;
    for i in 2..=limit {
        if !composite[i] {
            count += 1;
            let mut j = i * i;
            while j <= limit { composite[j] = true; j += i; }
        }
    }
    count
}
fn main() {
    let mut total = 0;
    for _ in 0..5 { total += count_primes(std::hint::black_box(2_000_000)); }
    println!("{total}");
}
