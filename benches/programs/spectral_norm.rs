fn a(i: usize, j: usize) -> f64 { 1.0 / (((i + j) * (i + j + 1) / 2 + i + 1) as f64) }
fn av(x: &[f64], y: &mut [f64]) { for i in 0..x.len() { let mut s = 0.0; for j in 0..x.len() { s += a(i, j) * x[j]; } y[i] = s; } }
fn atv(x: &[f64], y: &mut [f64]) { for i in 0..x.len() { let mut s = 0.0; for j in 0..x.len() { s += a(j, i) * x[j]; } y[i] = s; } }
fn main() {
    let n = std::hint::black_box(250);
    let (mut u, mut v, mut t) = (vec![1.0; n], vec![0.0; n], vec![0.0; n]);
    for _ in 0..10 { av(&u, &mut t); atv(&t, &mut v); av(&v, &mut t); atv(&t, &mut u); }
    let (mut vbv, mut vv) = (0.0, 0.0);
    for i in 0..n { vbv += u[i] * v[i]; vv += v[i] * v[i]; }
    println!("{:.9}", (vbv / vv).sqrt());
}
