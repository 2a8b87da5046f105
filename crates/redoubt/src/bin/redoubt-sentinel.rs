//! `redoubt-sentinel <config-file> [--option value ...]`: a drop-in for redis-sentinel.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(redoubt::run_sentinel(args));
}
