fn fannkuch(n: usize) -> (i64, i64) {
    let mut perm1: Vec<usize> = (0..n).collect();
    let mut perm = vec![0; n];
    let mut count = vec![0; n];
    let (mut maxflips, mut checksum, mut permcount, mut r) = (0i64, 0i64, 0i64, n);
    loop {
        while r != 1 { count[r - 1] = r; r -= 1; }
        perm.copy_from_slice(&perm1);
        let mut flips = 0;
        let mut k = perm[0];
        while k != 0 { perm[..=k].reverse(); flips += 1; k = perm[0]; }
        maxflips = maxflips.max(flips);
        checksum += if permcount % 2 == 0 { flips } else { -flips };
        loop {
            if r == n { return (checksum, maxflips); }
            let p0 = perm1[0];
            for i in 0..r { perm1[i] = perm1[i + 1]; }
            perm1[r] = p0;
            count[r] -= 1;
            if count[r] > 0 { break; }
            r += 1;
        }
        permcount += 1;
    }
}
fn main() { let (c, m) = fannkuch(std::hint::black_box(9)); println!("{c}\nPfannkuchen(9) = {m}"); }
