//! `kubectl_complete-helmrelease ARGS...`: what kubectl 1.26 and later run to complete
//! `kubectl helmrelease ARGS...` (the last argument is the word being typed). Prints the
//! candidates in Cobra's `__complete` format.

// The scripts (`completion SHELL`) are the main binary's business.
#[allow(dead_code)]
#[path = "../completion.rs"]
mod completion;

use clap::CommandFactory;
use kubectl_helmrelease::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let root = Cli::command().subcommand(completion::command());
    match completion::print_completions(root, &words, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}
