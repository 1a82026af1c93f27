//! Entry point: parse, run, print, exit with kubectl's codes (0 ok, 1 findings, 2 error).

mod completion;

use clap::{CommandFactory, FromArgMatches};
use kubectl_helmrelease::{cli::Cli, run};
use std::io::Write;
use std::process::ExitCode;

/// The version and the commit it was built from (see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("HELMRELEASE_COMMIT"),
    ")"
);

/// The command tree: the library's commands plus `completion`, which only the binary has.
fn command() -> clap::Command {
    Cli::command()
        .version(VERSION)
        .subcommand(completion::command())
}

fn main() -> ExitCode {
    // Cobra's hidden completion entry point, as kubectl plugins built on Cobra have it.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__complete") {
        let mut stdout = std::io::stdout().lock();
        return match completion::print_completions(command(), &args[2..], &mut stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(2),
        };
    }
    let matches = command().get_matches();
    if let Some(shell) = matches.subcommand_matches("completion") {
        return match completion::print_script(command(), shell, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            // A closed pipe (`| head`) is the reader's choice, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: writing output: {e}");
                ExitCode::from(2)
            }
        };
    }
    // `helm template` has no -o/--output; it refuses them rather than ignore them.
    if let Some(template) = matches.subcommand_matches("template")
        && template.value_source("output") == Some(clap::parser::ValueSource::CommandLine)
    {
        let args: Vec<String> = std::env::args().collect();
        match args
            .iter()
            .find(|a| a.starts_with("-o") || a.starts_with("--output"))
        {
            Some(a) if a.starts_with("--") => eprintln!("Error: unknown flag: --output"),
            Some(a) => eprintln!("Error: unknown shorthand flag: 'o' in {a}"),
            None => eprintln!("Error: unknown shorthand flag: 'o' in -o"),
        }
        return ExitCode::from(1);
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(&cli) {
        Ok(outcome) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(outcome.stdout.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => {}
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return ExitCode::from(outcome.code);
                }
                Err(e) => {
                    eprintln!("error: writing output: {e}");
                    return ExitCode::from(2);
                }
            }
            eprint!("{}", outcome.stderr);
            ExitCode::from(outcome.code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
