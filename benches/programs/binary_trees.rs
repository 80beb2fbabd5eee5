enum Tree { Leaf, Node(Box<Tree>, Box<Tree>) }
fn make(d: u32) -> Tree { if d == 0 { Tree::Node(Box::new(Tree::Leaf), Box::new(Tree::Leaf)) } else { Tree::Node(Box::new(make(d - 1)), Box::new(make(d - 1))) } }
fn check(t: &Tree) -> i64 { match t { Tree::Leaf => 0, Tree::Node(l, r) => 1 + check(l) + check(r) } }
fn main() {
    let max = std::hint::black_box(14u32);
    let min = 4;
    println!("stretch tree of depth {}\t check: {}", max + 1, check(&make(max + 1)));
    let long = make(max);
    let mut d = min;
    while d <= max {
        let iters = 1i64 << (max - d + min);
        let mut c = 0;
        for _ in 0..iters { c += check(&make(d)); }
        println!("{iters}\t trees of depth {d}\t check: {c}");
        d += 2;
    }
    println!("long lived tree of depth {max}\t check: {}", check(&long));
}
