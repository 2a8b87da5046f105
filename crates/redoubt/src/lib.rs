//! Redoubt's binaries share this: the allocator, the server entry point, and the deployment
//! tooling behind `redoubt up` / `status` / `down`.

pub mod deploy;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's `stats.allocated` / `active` / `resident`, for INFO memory.
fn jemalloc_stats() -> Option<server::info::AllocatorStats> {
    use std::ffi::c_void;
    fn read(name: &std::ffi::CStr) -> Option<u64> {
        let mut v: usize = 0;
        let mut len = std::mem::size_of::<usize>();
        // SAFETY: `name` is a C string and `v`/`len` describe a size_t buffer, as mallctl expects.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                (&mut v as *mut usize).cast::<c_void>(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        (rc == 0).then_some(v as u64)
    }
    let mut epoch: u64 = 1;
    let mut len = std::mem::size_of::<u64>();
    let p = (&mut epoch as *mut u64).cast::<c_void>();
    // SAFETY: writing "epoch" refreshes the cached statistics; old and new values are u64 buffers.
    unsafe { tikv_jemalloc_sys::mallctl(c"epoch".as_ptr(), p, &mut len, p, len) };
    Some(server::info::AllocatorStats {
        allocated: read(c"stats.allocated")?,
        active: read(c"stats.active")?,
        resident: read(c"stats.resident")?,
        name: "jemalloc-5.3.0",
    })
}

/// Runs redoubt-server with redis-server's command line; returns the exit status.
/// `--sentinel` among the arguments runs a sentinel instead, as with redis-server.
pub fn run_server(args: Vec<String>) -> i32 {
    if args.iter().any(|a| a == "--sentinel") {
        return run_sentinel(args);
    }
    server::info::set_allocator_probe(jemalloc_stats);
    server::main_with_args(args)
}

/// Runs redoubt-sentinel with redis-sentinel's command line; returns the exit status.
pub fn run_sentinel(args: Vec<String>) -> i32 {
    sentinel::shell::main_with_args(args)
}
