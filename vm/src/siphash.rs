//! SipHash-1-3 (Aumasson and Bernstein; the variant Rust's standard
//! library uses for `HashMap`): a keyed hash whose outputs an attacker who
//! does not know the key cannot predict, so map keys cannot be crafted to
//! collide. Written out here for the two shapes maps hash, one word (an int
//! key) and a byte string, word at a time; a test checks it against the
//! `siphasher` crate.

use crate::limits::{Stop, Watch, CHUNK_BYTES};

#[inline(always)]
fn round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[inline(always)]
fn init(k0: u64, k1: u64) -> [u64; 4] {
    [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ]
}

/// One compression round per message word.
#[inline(always)]
fn compress(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    round(v);
    v[0] ^= m;
}

/// Three finalization rounds.
#[inline(always)]
fn finish(mut v: [u64; 4]) -> u64 {
    v[2] ^= 0xff;
    round(&mut v);
    round(&mut v);
    round(&mut v);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// SipHash-1-3 of `bytes` under key `(k0, k1)`.
#[inline]
pub fn hash_bytes(k0: u64, k1: u64, bytes: &[u8]) -> u64 {
    let mut v = init(k0, k1);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        compress(&mut v, u64::from_le_bytes(w.try_into().expect("8 bytes")));
    }
    let rest = words.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    compress(
        &mut v,
        u64::from_le_bytes(last) | (bytes.len() as u64) << 56,
    );
    finish(v)
}

/// [`hash_bytes`], checking `watch` between chunks of a long input.
pub fn hash_bytes_watched(k0: u64, k1: u64, bytes: &[u8], watch: &Watch) -> Result<u64, Stop> {
    if bytes.len() <= CHUNK_BYTES {
        return Ok(hash_bytes(k0, k1, bytes));
    }
    let mut v = init(k0, k1);
    let full = bytes.len() / 8 * 8;
    // Chunks of whole words, so the words are the ones hash_bytes takes.
    for (i, chunk) in bytes[..full].chunks(CHUNK_BYTES).enumerate() {
        if i > 0 {
            watch.check()?;
        }
        for w in chunk.chunks_exact(8) {
            compress(&mut v, u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
    }
    let rest = &bytes[full..];
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    compress(
        &mut v,
        u64::from_le_bytes(last) | (bytes.len() as u64) << 56,
    );
    Ok(finish(v))
}

/// SipHash-1-3 of the 8 little-endian bytes of `x` under key `(k0, k1)`.
#[inline]
pub fn hash_u64(k0: u64, k1: u64, x: u64) -> u64 {
    let mut v = init(k0, k1);
    compress(&mut v, x);
    compress(&mut v, 8 << 56);
    finish(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hasher;

    fn reference(k0: u64, k1: u64, bytes: &[u8]) -> u64 {
        let mut h = siphasher::sip::SipHasher13::new_with_keys(k0, k1);
        h.write(bytes);
        h.finish()
    }

    #[test]
    fn agrees_with_the_siphasher_crate() {
        let keys = [
            (0, 0),
            (1, 2),
            (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908),
            (u64::MAX, 7),
        ];
        let data: Vec<u8> = (0..100u8).collect();
        for (k0, k1) in keys {
            for n in 0..data.len() {
                assert_eq!(
                    hash_bytes(k0, k1, &data[..n]),
                    reference(k0, k1, &data[..n]),
                    "{n}"
                );
            }
            let long: Vec<u8> = (0..3 * CHUNK_BYTES + 5).map(|i| (i * 7) as u8).collect();
            assert_eq!(
                hash_bytes_watched(k0, k1, &long, &Watch::IDLE),
                Ok(reference(k0, k1, &long))
            );
            for x in [0u64, 1, 42, u64::MAX, 0x1234_5678_9abc_def0] {
                assert_eq!(hash_u64(k0, k1, x), reference(k0, k1, &x.to_le_bytes()));
            }
        }
    }
}
