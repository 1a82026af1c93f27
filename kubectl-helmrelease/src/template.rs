//! `template`: a chart rendered exactly as `helm template` renders it.

use crate::cli::TemplateArgs;
use crate::{Context, Error, Outcome, Result};
use helmrelease_helm::render::{self, TemplateOptions};
use helmrelease_helm::values::ValueOptions;

/// Runs `template`. Rendering errors are Helm's text on stderr with exit code 1, as `helm`
/// prints them (`Error: ...`).
pub fn run(args: &TemplateArgs, ctx: &Context) -> Result<Outcome> {
    let _ = ctx;
    let name_template = args.name_template.as_deref().filter(|t| !t.is_empty());
    // Helm's NameAndChart, with the template command's default name.
    let named = match args.args.as_slice() {
        [_, _] if args.generate_name => Err(helmrelease_helm::Error::Options(
            "cannot set --generate-name and also specify a name".into(),
        )),
        [_, _] if name_template.is_some() => Err(helmrelease_helm::Error::Options(
            "cannot set --name-template and also specify a name".into(),
        )),
        [name, chart] => Ok((name.clone(), chart.clone())),
        [chart] => match name_template {
            Some(t) => render::name_from_template(t).map(|name| (name, chart.clone())),
            None => Ok(("release-name".to_string(), chart.clone())),
        },
        _ => return Err(Error::Usage("expected [NAME] CHART".into())),
    };
    let (name, chart_ref) = match named {
        Ok(named) => named,
        Err(e) => {
            return Ok(Outcome {
                stdout: String::new(),
                stderr: format!("Error: {e}\n"),
                code: 1,
            });
        }
    };
    // Helm 4 logs a bad release name, then fails with a prefix; Helm 3 says it once, later.
    if args.helm == helmrelease_helm::profile::HelmVersion::V4
        && let Some(problem) = render::release_name_problem(&name)
    {
        return Ok(Outcome {
            stdout: String::new(),
            stderr: format!(
                "level=ERROR msg=\"release name check failed\" error={}\nError: release name check failed: {problem}\n",
                helmrelease_gotmpl::strconv::quote(&problem)
            ),
            code: 1,
        });
    }
    let options = TemplateOptions {
        release_name: name,
        namespace: ctx.namespace.clone().unwrap_or_else(|| "default".into()),
        values: ValueOptions {
            value_files: args.values.clone(),
            json_values: args.set_json.clone(),
            values: args.set.clone(),
            string_values: args.set_string.clone(),
            file_values: args.set_file.clone(),
            literal_values: args.set_literal.clone(),
        },
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
        cluster_api_versions: false,
        include_crds: args.include_crds,
        skip_crds: args.skip_crds,
        skip_tests: args.skip_tests,
        no_hooks: args.no_hooks,
        is_upgrade: args.is_upgrade,
        show_only: args.show_only.clone(),
        skip_schema_validation: args.skip_schema_validation,
        // `helm template` renders offline: lookup finds nothing.
        lookup: None,
        revision: 1,
        helm: args.helm,
    };
    let chart = match &args.repo {
        Some(repo) => fetch(repo, &chart_ref, args)
            .and_then(|bytes| helmrelease_helm::chart::load_archive(&bytes)),
        // `oci://host/path/chart`: the reference names the chart itself.
        None if chart_ref.starts_with("oci://") => fetch(&chart_ref, "", args)
            .and_then(|bytes| helmrelease_helm::chart::load_archive(&bytes)),
        // Helm's LocateChart says this before trying to load anything: a path-like name is a
        // missing path, a bare name should have been `repo/chart`.
        None if !std::path::Path::new(&chart_ref).exists() => {
            let path_like = chart_ref.starts_with('.') || chart_ref.starts_with('/');
            Err(helmrelease_helm::Error::Chart(
                if !path_like && !chart_ref.contains('/') {
                    format!(
                        "non-absolute URLs should be in form of repo_name/path_to_chart, got: {chart_ref}"
                    )
                } else {
                    format!(
                        "path {} not found",
                        helmrelease_gotmpl::strconv::quote(&chart_ref)
                    )
                },
            ))
        }
        None => helmrelease_helm::chart::load(&chart_ref),
    };
    // Helm resolves the program when it reads the flag, before anything is loaded.
    let post_renderer = match args.post_renderer.as_deref().map(find_program).transpose() {
        Ok(p) => p,
        Err(e) => {
            return Ok(Outcome {
                stdout: String::new(),
                stderr: format!("Error: {e}\n"),
                code: 1,
            });
        }
    };
    // Helm warns about a deprecated chart as soon as it is loaded, whatever happens next.
    let deprecated = match &chart {
        Ok(c) if c.metadata.deprecated => match args.helm {
            helmrelease_helm::profile::HelmVersion::V4 => {
                "level=WARN msg=\"this chart is deprecated\"\n"
            }
            helmrelease_helm::profile::HelmVersion::V3 => "WARNING: This chart is deprecated\n",
        },
        _ => "",
    };
    let mut written = String::new();
    let result = chart
        .and_then(|chart| render::render(chart, &options))
        .and_then(|mut rendered| match &post_renderer {
            Some(program) => {
                rendered.manifest =
                    post_render(program, &args.post_renderer_args, &rendered.manifest)?;
                Ok(rendered)
            }
            None => Ok(rendered),
        })
        .and_then(|rendered| match &args.output_dir {
            None => render::template_text(&rendered, &options),
            Some(dir) => write_files(&rendered, &options, dir, args.release_name, &mut written),
        });
    let mut outcome = match result {
        Ok(stdout) => Outcome {
            stdout: written + &stdout,
            stderr: String::new(),
            code: 0,
        },
        // Errors with a partial release: Helm hints at --debug, which prints what rendered
        // (every non-blank template when the YAML is invalid) before the error.
        Err(
            e @ (helmrelease_helm::Error::Render(_)
            | helmrelease_helm::Error::InvalidManifest { .. }),
        ) if args.debug => {
            let mut blob = String::new();
            if let helmrelease_helm::Error::InvalidManifest { files, .. } = &e {
                for (name, text) in files.iter().filter(|(_, t)| !t.trim().is_empty()) {
                    blob.push_str(&helmrelease_helm::manifest::source_block(name, text));
                }
            }
            Outcome {
                stdout: written + blob.trim() + "\n",
                stderr: format!("Error: {e}\n"),
                code: 1,
            }
        }
        Err(
            e @ (helmrelease_helm::Error::Render(_)
            | helmrelease_helm::Error::InvalidManifest { .. }),
        ) => Outcome {
            stdout: String::new(),
            stderr: format!("Error: {e}\n\nUse --debug flag to render out invalid YAML\n"),
            code: 1,
        },
        Err(e) => Outcome {
            stdout: written,
            stderr: format!("Error: {e}\n"),
            code: 1,
        },
    };
    outcome.stderr.insert_str(0, deprecated);
    Ok(outcome)
}

/// `--output-dir`: each document appended to its template's file, `wrote <path>` said for
/// each write as Helm says it; what is left to print is Helm's empty manifest line.
fn write_files(
    rendered: &render::Rendered,
    options: &render::TemplateOptions,
    dir: &std::path::Path,
    use_release_name: bool,
    said: &mut String,
) -> helmrelease_helm::Result<String> {
    use std::io::Write as _;
    let dir = dir.to_string_lossy();
    for write in render::output_dir_writes(rendered, options, &dir, use_release_name) {
        let io = |source| helmrelease_helm::Error::Io {
            path: write.path.clone(),
            source,
        };
        let file = std::path::Path::new(&write.path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut out = if write.append {
            std::fs::OpenOptions::new().append(true).open(file)
        } else {
            std::fs::File::create(file)
        }
        .map_err(io)?;
        out.write_all(write.text.as_bytes()).map_err(io)?;
        said.push_str(&format!("wrote {}\n", write.path));
    }
    // The manifests went to files, so --show-only finds none of them (as in Helm).
    if let Some(wanted) = options.show_only.first() {
        return Err(helmrelease_helm::Error::Options(format!(
            "could not find template {wanted} in chart"
        )));
    }
    Ok("\n".to_string())
}

/// The post-renderer to run: a name without `/` is looked up in PATH, as Go's
/// `exec.LookPath` does; the error reads as Helm's flag error.
fn find_program(name: &str) -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if name.contains('/') {
        let path = std::path::PathBuf::from(name);
        executable(&path).then_some(path)
    } else {
        std::env::var_os("PATH").and_then(|dirs| {
            std::env::split_paths(&dirs)
                .map(|dir| dir.join(name))
                .find(|p| executable(p))
        })
    };
    let problem = if name.contains('/') {
        format!("exec: {name:?}: not an executable file")
    } else {
        format!("exec: {name:?}: executable file not found in $PATH")
    };
    let found = found.ok_or_else(|| {
        format!(
            "invalid argument {name:?} for \"--post-renderer\" flag: unable to find binary at {name}: {problem}"
        )
    })?;
    Ok(std::path::absolute(&found).unwrap_or(found))
}

/// Runs the post-renderer on the manifests (stdin to stdout); its failure reads as Helm's.
fn post_render(
    program: &std::path::Path,
    args: &[String],
    manifest: &str,
) -> helmrelease_helm::Result<String> {
    use std::io::Write as _;
    let failed = |detail: String| {
        helmrelease_helm::Error::Render(format!(
            "error while running post render on files: error while running command {}. error output:\n{detail}",
            program.display()
        ))
    };
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!(": {e}")))?;
    // Feed stdin from another thread: a renderer that writes before reading all its input
    // would otherwise block on a full pipe.
    let input = manifest.as_bytes().to_vec();
    let feeder = child.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        })
    });
    let out = child
        .wait_with_output()
        .map_err(|e| failed(format!(": {e}")))?;
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    if !out.status.success() {
        let status = match out.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "signal: killed".to_string(),
        };
        return Err(failed(format!(
            "{}: {status}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Downloads a chart from an HTTP repository or an OCI registry into the user's cache
/// (digest-checked).
fn fetch(repo: &str, chart: &str, args: &TemplateArgs) -> helmrelease_helm::Result<Vec<u8>> {
    let cache_dir = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))
        .map(|base| base.join("helmrelease"));
    let ca_pem = match &args.ca_file {
        Some(path) => Some(
            std::fs::read(path).map_err(|source| helmrelease_helm::Error::Io {
                path: path.display().to_string(),
                source,
            })?,
        ),
        None => None,
    };
    // Helm sends basic auth when either is given.
    let auth = (args.username.is_some() || args.password.is_some()).then(|| {
        helmrelease_sources::Auth::Basic {
            username: args.username.clone().unwrap_or_default(),
            password: args.password.clone().unwrap_or_default(),
        }
    });
    let options = helmrelease_sources::repo::Options {
        cache_dir,
        auth,
        ca_pem,
        pass_credentials: args.pass_credentials,
        insecure_http: args.plain_http,
        ..helmrelease_sources::repo::Options::default()
    };
    // Helm's --devel: development versions count, unless a version is given.
    let version = match args.version.as_deref() {
        Some(v) if !v.is_empty() => v,
        _ if args.devel => ">0.0.0-0",
        _ => "",
    };
    helmrelease_sources::repo::fetch_chart(repo, chart, version, &options)
        .map(|fetched| fetched.bytes)
        .map_err(|e| helmrelease_helm::Error::Chart(e.to_string()))
}
