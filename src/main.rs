fn main() -> std::process::ExitCode {
    dbm::cli::run()
}
