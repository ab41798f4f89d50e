//! The `perfgate` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    perfgate::limit_memory();
    let cli = perfgate::cli::Cli::parse();
    match perfgate::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors quote reports, budgets and servers' replies: nothing in them may drive the
            // terminal.
            eprintln!("error: {}", perfgate::render::terminal(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}
