//! Counting bytes in a buffer fast: the scans the verify path makes over a whole token or
//! payload before reading it (how many dots, how many opening brackets).

/// How many bytes of `bytes` satisfy `pred`, one comparison per byte: counted into a byte per
/// run of [`RUN`] bytes, which the compiler turns into a vector loop of two 16-byte blocks per
/// step and no scalar tail (`iter().filter().count()` costs three to four instructions a byte).
#[inline]
pub(crate) fn count(bytes: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    bytes
        .chunks(RUN)
        .map(|run| {
            let n = run
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(pred(b))));
            usize::from(n)
        })
        .sum()
}

/// A multiple of 32 that a byte can count to.
const RUN: usize = 224;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_exactly_at_every_length() {
        let mut all = Vec::new();
        for b in 0..=255u8 {
            all.extend(std::iter::repeat_n(b, 17));
        }
        for len in (0..40).chain([254, 255, 256, 4079, 4080, 4081, all.len()]) {
            let part = &all[..len.min(all.len())];
            let expected = part.iter().filter(|&&b| b == b'.' || b == b'{').count();
            assert_eq!(count(part, |b| b == b'.' || b == b'{'), expected, "{len}");
        }
        for len in [4080, 4096, 10_000] {
            assert_eq!(count(&vec![b'.'; len], |b| b == b'.'), len);
        }
    }
}
