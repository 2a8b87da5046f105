//! Prints the items of an RDB file: `cargo run -p rdb --example rdb_dump -- dump.rdb`.

use std::fs::File;
use std::io::BufReader;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: rdb_dump <file.rdb>");
        std::process::exit(2);
    };
    let file = File::open(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let mut dec = rdb::Decoder::new(BufReader::new(file), rdb::DecodeOptions::default());
    loop {
        match dec.next_item() {
            Ok(Some(item)) => {
                if let rdb::Item::Entry(_) = item {
                    print!("[type {}] ", dec.last_value_type().unwrap_or(0));
                }
                println!("{item:?}");
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("version {}", dec.version().unwrap_or(0));
}
