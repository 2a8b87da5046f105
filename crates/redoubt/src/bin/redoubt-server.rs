//! `redoubt-server [config-file] [--directive value ...]`: a drop-in for redis-server.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(server::main_with_args(args));
}
