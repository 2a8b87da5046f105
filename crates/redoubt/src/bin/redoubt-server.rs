//! `redoubt-server [config-file] [--directive value ...]`: a drop-in for redis-server.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(redoubt::run_server(args));
}
