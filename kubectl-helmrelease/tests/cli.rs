//! CLI transcripts: `tests/cmd/*.toml` run the real binary on fixture files and compare stdout,
//! stderr and the exit code. Refresh expectations with `TRYCMD=overwrite cargo test -p
//! kubectl-helmrelease --test cli` and review the diff. trycmd normalises `\\` to `/` in output,
//! so JSON escaping is checked in unit tests instead.

#![allow(clippy::expect_used, clippy::unwrap_used)] // helpers of tests: panicking is failing

#[test]
fn cli_transcripts() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
