//! Shared by the fuzz targets: how an input is cut into reads.

/// Chunk boundaries from a small xorshift seeded by the input: sizes 0..=max, empty chunks too.
pub fn chunks(stream: &[u8], seed: u16) -> Vec<&[u8]> {
    let mut state = u32::from(seed) | 0x1_0000;
    let max = [1usize, 2, 3, 7, 16, 64, 4096][usize::from(seed >> 13) % 7];
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state as usize % (max + 1)).min(rest.len());
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
    }
    out
}
