// A large model is millions of small strings: glibc's malloc/free were ~30 % of `migrate`
// at 5,000 tables (BENCHMARKS.md section 9). The library leaves the choice to the app.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dbm::cli::run()
}
