//! The core over a corpus file that `benches/instructions.py` writes: every stream fed to a
//! fresh `UsageCore` in its recorded reads, then `finish()`, `passes` times. Run under
//! cachegrind by that script (instructions an event, the README's figures); on its own it
//! prints the events and bytes of the file.
//!
//!     cargo run --release --example instructions -- FILE [PASSES]
//!
//! `SSEUSAGE_RECHUNK=N` feeds each stream again in reads of N bytes (0: one read a stream),
//! to tell what a read's ends cost; `SSEUSAGE_NO_FINISH=1` leaves `finish()` out.

use sseusage_fast::{Provider, UsageCore, DEFAULT_MAX_EVENT_BYTES};
use std::hint::black_box;

/// A corpus file: `u32` streams, each `u32` reads, each `u32` length and the bytes
/// (little-endian).
fn load(bytes: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut file = File(bytes);
    (0..file.number())
        .map(|_| (0..file.number()).map(|_| file.part()).collect())
        .collect()
}

/// What is left of a corpus file.
struct File<'a>(&'a [u8]);

impl<'a> File<'a> {
    fn take(&mut self, len: usize) -> &'a [u8] {
        let (part, rest) = self.0.split_at(len);
        self.0 = rest;
        part
    }

    fn number(&mut self) -> usize {
        u32::from_le_bytes(self.take(4).try_into().expect("four bytes")) as usize
    }

    /// A length, then that many bytes.
    fn part(&mut self) -> &'a [u8] {
        let len = self.number();
        self.take(len)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: instructions FILE [PASSES]");
    let passes: usize = args
        .get(2)
        .map_or(1, |p| p.parse().expect("a number of passes"));
    let bytes = std::fs::read(path).expect("the corpus file");
    let mut streams = load(&bytes);
    let rechunked: Vec<Vec<u8>>;
    if let Ok(size) = std::env::var("SSEUSAGE_RECHUNK") {
        let size: usize = size.parse().expect("SSEUSAGE_RECHUNK: a number of bytes");
        rechunked = streams.iter().map(|reads| reads.concat()).collect();
        streams = rechunked
            .iter()
            .map(|body| match size {
                0 => vec![body.as_slice()],
                size => body.chunks(size).collect(),
            })
            .collect();
    }
    let finish = std::env::var_os("SSEUSAGE_NO_FINISH").is_none();
    for _ in 0..passes {
        for reads in &streams {
            let mut core = UsageCore::new(Provider::Auto, DEFAULT_MAX_EVENT_BYTES);
            for read in reads {
                core.feed(black_box(read));
            }
            if finish {
                black_box(core.finish());
            }
        }
    }
    let total: usize = streams.iter().flatten().map(|read| read.len()).sum();
    println!("{} streams, {total} bytes", streams.len());
}
