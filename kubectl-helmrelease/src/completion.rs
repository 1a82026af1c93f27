//! Shell completion: `completion bash|zsh|fish` prints a script for the `kubectl-helmrelease`
//! command, and `__complete ARGS...` answers in Cobra's protocol (one candidate per line,
//! `value\tdescription`, then `:<directive>`), which is what kubectl 1.26 and later expect
//! from the `kubectl_complete-helmrelease` helper when completing `kubectl helmrelease ...`.
//! Shared by both binaries (`#[path]`-included), since the library is not theirs to extend.

use clap::{Arg, ArgAction, ArgMatches, Command, ValueHint};
use std::io::Write;

/// Cobra's ShellCompDirectiveNoFileComp: offer only the candidates.
const NO_FILE_COMP: u32 = 4;
/// Cobra's ShellCompDirectiveDefault: the candidates, or the shell's file names if none.
const DEFAULT: u32 = 0;

/// The `completion` subcommand, added to the plugin's command tree.
pub fn command() -> Command {
    Command::new("completion")
        .about("Print a shell completion script for kubectl-helmrelease")
        .long_about(
            "Print a shell completion script for kubectl-helmrelease.\n\n\
             For `kubectl helmrelease ...` (kubectl 1.26 or later), put the \
             kubectl_complete-helmrelease helper next to kubectl-helmrelease on PATH instead: \
             kubectl's own completion then asks it.\n\n\
             bash: source <(kubectl-helmrelease completion bash)\n\
             zsh:  kubectl-helmrelease completion zsh > \"${fpath[1]}/_kubectl-helmrelease\"\n\
             fish: kubectl-helmrelease completion fish > ~/.config/fish/completions/kubectl-helmrelease.fish",
        )
        .arg(
            Arg::new("shell")
                .required(true)
                .value_parser(["bash", "zsh", "fish"])
                .help("The shell"),
        )
}

/// Writes the script `completion SHELL` asks for.
pub fn print_script(
    root: Command,
    matches: &ArgMatches,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let shell = match matches.get_one::<String>("shell").map(String::as_str) {
        Some("zsh") => clap_complete::Shell::Zsh,
        Some("fish") => clap_complete::Shell::Fish,
        _ => clap_complete::Shell::Bash,
    };
    // The script completes the executable itself; the library names it `kubectl helmrelease`
    // for help texts. Bash gets an underscore: clap_complete's bash script names its functions
    // inconsistently when the name has a hyphen; the registration is put right below.
    let bin = if shell == clap_complete::Shell::Bash {
        "kubectl_helmrelease"
    } else {
        "kubectl-helmrelease"
    };
    let mut root = rename(root, bin);
    // Rendered first: clap_complete panics when the writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut root, bin, &mut script);
    if shell == clap_complete::Shell::Bash {
        let text = String::from_utf8_lossy(&script)
            .lines()
            .map(|line| match line.strip_suffix(" kubectl_helmrelease") {
                Some(start) if line.trim_start().starts_with("complete ") => {
                    format!("{start} kubectl-helmrelease\n")
                }
                _ => format!("{line}\n"),
            })
            .collect::<String>();
        script = text.into_bytes();
    }
    out.write_all(&script)?;
    out.flush()
}

/// `command` and its subcommands named as run from `bin`, all the way down (clap would
/// otherwise keep the names it derived from `kubectl helmrelease`).
fn rename(command: Command, bin: &str) -> Command {
    let bin = bin.to_string();
    command.bin_name(bin.clone()).mut_subcommands(move |sub| {
        let name = format!("{bin} {}", sub.get_name());
        rename(sub, &name)
    })
}

/// Lists HelmRelease names for the command line `words` (its global flags say where from).
pub type Names<'a> = &'a dyn Fn(&[String]) -> Vec<String>;

/// Subcommands whose NAME is a HelmRelease (or, with --release, a Helm release).
const NAMED: [&str; 5] = ["status", "history", "get", "diff", "drift"];

/// The candidates for the last of `words` (the word being typed, possibly empty) after the
/// ones before it, and Cobra's directive. HelmRelease names come from `names`.
pub fn complete(mut root: Command, words: &[String], names: Names<'_>) -> (Vec<String>, u32) {
    root.build();
    let (typed, before) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut current = &root;
    let mut positionals = 0;
    let mut pending: Option<&Arg> = None;
    for word in before {
        if pending.take().is_some() {
            continue;
        }
        if word == "--" {
            continue;
        }
        if let Some(flag) = word.strip_prefix('-') {
            if let Some(arg) = find_flag(current, flag)
                && takes_value(arg)
                && !word.contains('=')
                // `-nNAME` carries its value; `-n` and `--namespace` take the next word.
                && (flag.len() == 1 || flag.starts_with('-'))
            {
                pending = Some(arg);
            }
            continue;
        }
        if let Some(sub) = current
            .get_subcommands()
            .find(|s| s.get_name() == word || s.get_all_aliases().any(|a| a == word))
        {
            current = sub;
            positionals = 0;
        } else {
            positionals += 1;
        }
    }

    // The value of a flag: its possible values, else files where it names a path.
    if let Some(arg) = pending {
        return values(arg, typed);
    }
    if let Some((flag, value)) = typed.strip_prefix("--").and_then(|t| t.split_once('='))
        && let Some(arg) = find_flag(current, flag)
    {
        let (found, directive) = values(arg, value);
        let found = found.into_iter().map(|v| format!("--{flag}={v}")).collect();
        return (found, directive);
    }

    if typed.starts_with('-') {
        let mut found = Vec::new();
        for arg in current.get_arguments().filter(|a| !a.is_hide_set()) {
            let help = describe(arg.get_help().map(ToString::to_string));
            if let Some(long) = arg.get_long() {
                let flag = format!("--{long}");
                if flag.starts_with(typed) {
                    found.push(format!("{flag}{help}"));
                }
            }
            if let Some(short) = arg.get_short() {
                let flag = format!("-{short}");
                if flag.starts_with(typed) && typed.len() <= 2 {
                    found.push(format!("{flag}{help}"));
                }
            }
        }
        return (found, NO_FILE_COMP);
    }

    let subcommands: Vec<String> = current
        .get_subcommands()
        .filter(|s| {
            (!s.is_hide_set() || s.get_name() == "completion") && s.get_name().starts_with(typed)
        })
        .map(|s| {
            format!(
                "{}{}",
                s.get_name(),
                describe(s.get_about().map(ToString::to_string))
            )
        })
        .collect();
    if current.has_subcommands() && positionals == 0 {
        return (subcommands, NO_FILE_COMP);
    }
    // A positional argument: files where it is a path, else nothing to offer (names of
    // HelmReleases would need the cluster).
    let positional = current
        .get_positionals()
        .nth(positionals)
        .or_else(|| current.get_positionals().last());
    match positional {
        // HelmRelease names; Helm release names (--release) would mean decoding every release.
        Some(arg)
            if arg.get_id() == "name"
                && NAMED.contains(&current.get_name())
                && !before.iter().any(|w| w == "--release") =>
        {
            let mut found: Vec<String> = names(before)
                .into_iter()
                .filter(|n| n.starts_with(typed))
                .collect();
            found.sort();
            found.dedup();
            (found, NO_FILE_COMP)
        }
        Some(arg) => values(arg, typed),
        None => (Vec::new(), NO_FILE_COMP),
    }
}

/// `\tdescription` (first line of the help), or nothing.
fn describe(help: Option<String>) -> String {
    match help.as_deref().and_then(|h| h.lines().next()) {
        Some(line) if !line.is_empty() => format!("\t{line}"),
        _ => String::new(),
    }
}

fn find_flag<'a>(command: &'a Command, flag: &str) -> Option<&'a Arg> {
    let flag = flag.split('=').next().unwrap_or(flag);
    if let Some(long) = flag.strip_prefix('-') {
        return command.get_arguments().find(|a| {
            a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|v| v.contains(&long))
        });
    }
    let short = flag.chars().next()?;
    command
        .get_arguments()
        .find(|a| a.get_short() == Some(short))
}

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
        && arg.get_num_args().is_none_or(|n| n.takes_values())
}

fn values(arg: &Arg, typed: &str) -> (Vec<String>, u32) {
    let possible: Vec<String> = arg
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set() && v.get_name().starts_with(typed))
        .map(|v| {
            format!(
                "{}{}",
                v.get_name(),
                describe(v.get_help().map(ToString::to_string))
            )
        })
        .collect();
    if !possible.is_empty() {
        return (possible, NO_FILE_COMP);
    }
    let hint = arg.get_value_hint();
    let path = matches!(
        hint,
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath
    ) || (hint == ValueHint::Unknown && is_path(arg));
    if path {
        (Vec::new(), DEFAULT)
    } else {
        (Vec::new(), NO_FILE_COMP)
    }
}

/// Whether an argument names a file or folder: its value name says so (`PATH`, `FILE`,
/// `DIR`, `CHART`), since the plugin's arguments carry no value hints.
fn is_path(arg: &Arg) -> bool {
    arg.get_value_names().is_some_and(|names| {
        names
            .iter()
            .any(|n| matches!(n.as_str(), "PATH" | "FILE" | "DIR" | "CHART" | "FILES"))
    })
}

/// HelmRelease names where the command line's global flags point (`--from-file`,
/// `--kubeconfig`, `--context`, `-n`, `-A`), or none when that fails or takes over 3 seconds:
/// a shell waiting on completion must not hang on an unreachable cluster.
pub fn helmrelease_names(words: &[String]) -> Vec<String> {
    let mut global = kubectl_helmrelease::cli::GlobalArgs::default();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => match word.strip_prefix("-n") {
                Some(value) if !value.is_empty() && !word.starts_with("--") => {
                    ("-n", Some(value.to_string()))
                }
                _ => (word.as_str(), None),
            },
        };
        let takes_value = matches!(
            flag,
            "--kubeconfig" | "--context" | "-n" | "--namespace" | "--from-file"
        );
        let value = if takes_value {
            inline.or_else(|| words.next().cloned())
        } else {
            None
        };
        match (flag, value) {
            ("--kubeconfig", Some(v)) => global.kubeconfig = Some(v.into()),
            ("--context", Some(v)) => global.context = Some(v),
            ("-n" | "--namespace", Some(v)) => global.namespace = Some(v),
            ("--from-file", Some(v)) => global.from_file.push(v.into()),
            ("-A" | "--all-namespaces", _) => global.all_namespaces = true,
            _ => {}
        }
    }
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ctx = kubectl_helmrelease::Context::new(&global);
        let names = ctx
            .session()
            .and_then(|session| session.helmreleases(session.namespace.as_deref()))
            .map(|objects| {
                objects
                    .iter()
                    .filter_map(|o| o.object["metadata"]["name"].as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let _ = send.send(names);
    });
    receive
        .recv_timeout(std::time::Duration::from_secs(3))
        .unwrap_or_default()
}

/// Prints the answer to `__complete WORDS...` as Cobra does: candidates, then `:directive`.
pub fn print_completions(
    root: Command,
    words: &[String],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let (found, directive) = complete(root, words, &helmrelease_names);
    for candidate in found {
        writeln!(out, "{candidate}")?;
    }
    writeln!(out, ":{directive}")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Command {
        Command::new("kubectl-helmrelease")
            .arg(
                Arg::new("namespace")
                    .short('n')
                    .long("namespace")
                    .global(true)
                    .help("Namespace"),
            )
            .arg(
                Arg::new("output")
                    .short('o')
                    .long("output")
                    .global(true)
                    .value_parser(["table", "json", "yaml"]),
            )
            .subcommand(
                Command::new("history")
                    .about("Revisions")
                    .arg(Arg::new("name")),
            )
            .subcommand(
                Command::new("check").about("Check files").arg(
                    Arg::new("file")
                        .short('f')
                        .long("file")
                        .value_name("PATH")
                        .action(ArgAction::Append),
                ),
            )
            .subcommand(command())
    }

    fn no_names(_: &[String]) -> Vec<String> {
        Vec::new()
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn subcommands_by_prefix_with_descriptions() {
        assert_eq!(
            complete(tree(), &words(&["hi"]), &no_names),
            (vec!["history\tRevisions".to_string()], 4)
        );
        let (all, _) = complete(tree(), &words(&[""]), &no_names);
        assert_eq!(all.len(), 4, "history, check, completion, help: {all:?}");
    }

    #[test]
    fn flags_values_and_files() {
        let (flags, d) = complete(tree(), &words(&["history", "--na"]), &no_names);
        assert_eq!((flags, d), (vec!["--namespace\tNamespace".to_string()], 4));
        assert_eq!(
            complete(tree(), &words(&["-o", "j"]), &no_names),
            (vec!["json".to_string()], 4)
        );
        assert_eq!(
            complete(tree(), &words(&["history", "--output=y"]), &no_names),
            (vec!["--output=yaml".to_string()], 4)
        );
        assert_eq!(
            complete(tree(), &words(&["check", "-f", ""]), &no_names),
            (vec![], 0)
        );
        assert_eq!(
            complete(tree(), &words(&["completion", "f"]), &no_names),
            (vec!["fish".to_string()], 4)
        );
        // A flag's value is not a subcommand.
        assert_eq!(
            complete(tree(), &words(&["-n", "history", "hi"]), &no_names).0,
            vec!["history\tRevisions"]
        );
    }

    #[test]
    fn helmrelease_names_where_a_name_goes() {
        let names = |before: &[String]| {
            assert_eq!(before, ["-n", "apps", "history"]);
            vec![
                "podinfo".to_string(),
                "grafana".to_string(),
                "podinfo".to_string(),
            ]
        };
        assert_eq!(
            complete(tree(), &words(&["-n", "apps", "history", "p"]), &names),
            (vec!["podinfo".to_string()], 4)
        );
        // Not with --release (Helm release names), and not for other positionals.
        let none = |_: &[String]| -> Vec<String> { panic!("not asked") };
        assert_eq!(
            complete(tree(), &words(&["history", "--release", ""]), &none),
            (vec![], 4)
        );
    }

    #[test]
    fn names_follow_the_global_flags() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/cluster");
        let all = helmrelease_names(&words(&["--from-file", root, "-A", "history"]));
        assert_eq!(all, ["grafana", "podinfo", "redis"]);
        let data = helmrelease_names(&words(&[&format!("--from-file={root}"), "-ndata"]));
        assert_eq!(data, ["redis"]);
    }

    #[test]
    fn cobra_format_ends_with_the_directive() {
        let mut out = Vec::new();
        print_completions(tree(), &words(&["ch"]), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "check\tCheck files\n:4\n");
    }
}
