//! The `queueprim` binary: everything lives in the library; this only hands over the exit code.

fn main() -> std::process::ExitCode {
    queueprim::run(std::env::args_os())
}
