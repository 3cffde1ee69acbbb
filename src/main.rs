//! The tessera binary: parse the command line and run.

fn main() -> std::process::ExitCode {
    tessera::cli::run()
}
