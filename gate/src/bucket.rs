//! Stable bucketing: `crc32(utf8 bytes) % 100`.
//!
//! DO NOT CHANGE. Every process, machine and language that shares a switch
//! must put the same id in the same bucket, or users flip in and out of a
//! rollout when a deploy lands. The rule is IEEE CRC-32 (unsigned, as Python
//! 3's `zlib.crc32`, Ruby's `Zlib.crc32` and Go's `crc32.ChecksumIEEE`)
//! modulo 100, and an id is on at percentage `p` iff its bucket is `< p`.
//! Stable buckets matter more than perfectly even ones.

/// The IEEE CRC-32 of `bytes`, unsigned.
///
/// # Examples
///
/// ```
/// assert_eq!(gate::crc32(b"443301") % 100, 5);
/// ```
#[inline]
pub fn crc32(bytes: &[u8]) -> u32 {
    if bytes.len() <= SHORT {
        !crc32_table(!0, bytes)
    } else {
        crc32fast::hash(bytes)
    }
}

/// Up to this many bytes, a byte-at-a-time table is faster than
/// `crc32fast`, whose set-up (CPU feature detection, state) costs more than
/// a short id's bytes (ids are usually 1–40 bytes long).
const SHORT: usize = 48;

/// The reflected IEEE CRC-32 tables for slicing by 8 (polynomial
/// `0xEDB88320`): `TABLES[0]` is the classic byte-at-a-time table, and
/// `TABLES[k][x]` is the effect of byte `x` followed by `k` zero bytes.
/// With them up to 8 bytes are folded into the state with independent
/// table reads instead of a chain of one dependent read per byte (8 KiB,
/// computed at compile time).
const TABLES: [[u32; 256]; 8] = {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        tables[0][i] = c;
        i += 1;
    }
    let mut t = 1;
    while t < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[t - 1][i];
            tables[t][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            i += 1;
        }
        t += 1;
    }
    tables
};

/// Feeds `bytes` to a CRC-32 state (`!0` to start, `!state` to finish):
/// 8 bytes at a time, then the 0 to 7 left.
#[inline(always)]
fn crc32_table(mut state: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let lo = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ state;
        let hi = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        state = TABLES[7][(lo & 0xff) as usize]
            ^ TABLES[6][((lo >> 8) & 0xff) as usize]
            ^ TABLES[5][((lo >> 16) & 0xff) as usize]
            ^ TABLES[4][(lo >> 24) as usize]
            ^ TABLES[3][(hi & 0xff) as usize]
            ^ TABLES[2][((hi >> 8) & 0xff) as usize]
            ^ TABLES[1][((hi >> 16) & 0xff) as usize]
            ^ TABLES[0][(hi >> 24) as usize];
    }
    crc32_tail(state, chunks.remainder())
}

/// Feeds fewer than 8 bytes to a CRC-32 state in one step (see
/// [`crc32_fold`]).
#[inline(always)]
fn crc32_tail(state: u32, tail: &[u8]) -> u32 {
    match *tail {
        [] => state,
        [a] => crc32_fold(state, [a]),
        [a, b] => crc32_fold(state, [a, b]),
        [a, b, c] => crc32_fold(state, [a, b, c]),
        [a, b, c, d] => crc32_fold(state, [a, b, c, d]),
        [a, b, c, d, e] => crc32_fold(state, [a, b, c, d, e]),
        [a, b, c, d, e, f] => crc32_fold(state, [a, b, c, d, e, f]),
        [a, b, c, d, e, f, g] => crc32_fold(state, [a, b, c, d, e, f, g]),
        _ => unreachable_tail(state, tail),
    }
}

/// Folds `N` (1 to 8) bytes into a CRC-32 state: byte `i` meets table
/// `N - 1 - i`, XORed with the state's byte `i` if it has one; the state's
/// bytes that no input byte meets are shifted down. `N` is a constant, so
/// every read is independent of the others.
#[inline(always)]
fn crc32_fold<const N: usize>(state: u32, bytes: [u8; N]) -> u32 {
    let mut out = if N < 4 { state >> (8 * N) } else { 0 };
    let mut i = 0;
    while i < N {
        let mut x = u32::from(bytes[i]);
        if i < 4 {
            x ^= (state >> (8 * i)) & 0xff;
        }
        out ^= TABLES[N - 1 - i][x as usize];
        i += 1;
    }
    out
}

/// Never called (`crc32_tail` gets fewer than 8 bytes); byte at a time so
/// that it would still be right.
#[cold]
fn unreachable_tail(mut state: u32, tail: &[u8]) -> u32 {
    for &b in tail {
        state = TABLES[0][((state ^ u32::from(b)) & 0xff) as usize] ^ (state >> 8);
    }
    state
}

/// The bucket (`0..100`) of an id: `crc32(utf8 bytes) % 100`.
///
/// # Examples
///
/// ```
/// assert_eq!(gate::bucket("443301"), 5);
/// assert_eq!(gate::bucket("44488"), 88);
/// ```
pub fn bucket(id: &str) -> u8 {
    (crc32(id.as_bytes()) % 100) as u8
}

/// The bucket of an id under a switch's salt: `crc32(salt + ":" + id) % 100`.
///
/// Computed incrementally, without building the joined string.
#[inline]
pub(crate) fn salted_crc32(salt: Option<&str>, id: &str) -> u32 {
    match salt {
        None => crc32(id.as_bytes()),
        Some(salt) if salt.len() + 1 + id.len() <= SHORT => {
            let state = crc32_table(!0, salt.as_bytes());
            let state = crc32_table(state, b":");
            !crc32_table(state, id.as_bytes())
        }
        Some(salt) => {
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(salt.as_bytes());
            hasher.update(b":");
            hasher.update(id.as_bytes());
            hasher.finalize()
        }
    }
}

/// Formats an integer as decimal text on the stack (no allocation), so
/// integer ids bucket exactly like their string form.
pub(crate) struct IntText {
    buf: itoa::Buffer,
    value: i128,
}

impl IntText {
    pub(crate) fn new(value: i128) -> Self {
        IntText {
            buf: itoa::Buffer::new(),
            value,
        }
    }

    pub(crate) fn as_str(&mut self) -> &str {
        // 128-bit formatting is slower: use 64 bits whenever the value fits.
        match (u64::try_from(self.value), i64::try_from(self.value)) {
            (Ok(n), _) => self.buf.format(n),
            (_, Ok(n)) => self.buf.format(n),
            _ => self.buf.format(self.value),
        }
    }
}

/// A small, fast, non-cryptographic random number in `0..100`, for the
/// "percentage of time" of a `Bool` value in a percent condition.
pub(crate) fn random_bucket() -> u8 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    fn seed() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9E37_79B9_7F4A_7C15);
        h.finish() | 1
    }
    STATE.with(|state| {
        // xorshift64*
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        // `% 100` before narrowing: `as u8 % 100` would fold 200..=255
        // onto 0..=55 and make those buckets 1.5 times as likely.
        ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % 100) as u8
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table path (short inputs) and `crc32fast` (long ones) agree on
    /// every length around the switch-over, salted or not.
    #[test]
    fn the_short_path_is_crc32fast() {
        let bytes: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in 0..bytes.len() {
            assert_eq!(
                crc32(&bytes[..len]),
                crc32fast::hash(&bytes[..len]),
                "length {len}"
            );
        }
        for (salt, id) in [
            ("s", "443301"),
            ("a-longer-salt-of-some-length", "user-with-a-long-id-0001"),
        ] {
            let mut h = crc32fast::Hasher::new();
            h.update(format!("{salt}:{id}").as_bytes());
            assert_eq!(salted_crc32(Some(salt), id), h.finalize(), "{salt}:{id}");
        }
    }

    #[test]
    fn design_examples() {
        assert_eq!(bucket("443301"), 5);
        assert_eq!(bucket("44488"), 88);
        assert_eq!(bucket("444401"), 85);
        assert_eq!(bucket("jeff"), 76);
        assert_eq!(bucket("1007"), 88);
    }

    #[test]
    fn shared_vectors() {
        // A copy of shared/vectors/buckets.tsv, as Python's zlib computes them.
        let text = include_str!("../tests/data/buckets.tsv");
        let mut checked = 0;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut cols = line.split('\t');
            let (id, crc, b) = (
                cols.next().unwrap(),
                cols.next().unwrap(),
                cols.next().unwrap(),
            );
            assert_eq!(
                crc32(id.as_bytes()),
                crc.parse::<u32>().unwrap(),
                "crc32 of {id:?}"
            );
            assert_eq!(bucket(id), b.parse::<u8>().unwrap(), "bucket of {id:?}");
            checked += 1;
        }
        assert_eq!(checked, 1000);
    }

    #[test]
    fn salt_is_prefix_and_colon() {
        assert_eq!(salted_crc32(Some("s"), "42"), crc32(b"s:42"));
        assert_eq!(salted_crc32(None, "42"), crc32(b"42"));
    }

    #[test]
    fn int_text() {
        for n in [
            0i128,
            7,
            -7,
            1007,
            443301,
            i64::MAX as i128,
            i128::MIN,
            u64::MAX as i128,
        ] {
            assert_eq!(IntText::new(n).as_str(), n.to_string());
        }
    }

    #[test]
    fn random_bucket_in_range_and_varies() {
        let samples: Vec<u8> = (0..1000).map(|_| random_bucket()).collect();
        assert!(samples.iter().all(|&b| b < 100));
        let low = samples.iter().filter(|&&b| b < 50).count();
        assert!((350..650).contains(&low), "{low} of 1000 below 50");
        // Even: a bucket taken from a byte (0..256 % 100) would favour
        // 0..56, putting about 59% below 50.
        let many: Vec<u8> = (0..100_000).map(|_| random_bucket()).collect();
        let low = many.iter().filter(|&&b| b < 50).count();
        assert!((48_500..51_500).contains(&low), "{low} of 100,000 below 50");
        let top = many.iter().filter(|&&b| b >= 56).count();
        assert!(
            (42_500..45_500).contains(&top),
            "{top} of 100,000 at 56 or above"
        );
    }
}
