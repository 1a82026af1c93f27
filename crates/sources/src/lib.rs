//! Helm charts fetched from chart repositories the way `helm template --repo URL --version V`,
//! `helm pull --version` and Flux's source-controller fetch them.
//!
//! Pure core, thin I/O:
//!
//! - [`index`]: parse a repository `index.yaml` (or JSON);
//! - [`version`]: Masterminds semver v3 versions and constraints, and Helm's choice of a chart
//!   version (exact string first, then the highest match; prereleases only when asked for);
//! - [`url`]: index and chart URL arithmetic as Helm does it with Go's `net/url`;
//! - [`http`]: a small blocking HTTP(S) client (hyper, rustls with ring, system roots plus
//!   optional CA, basic or bearer auth, redirects, timeouts, size caps, `file://`);
//! - [`cache`]: chart archives cached by digest, indexes cached with their `ETag`;
//! - [`repo`]: [`fetch_chart`], which puts these together;
//! - [`oci`]: [`fetch_oci_chart`], charts in OCI registries (`oci://`): tags, manifests and
//!   blobs over the distribution API, with the Docker token flow; [`fetch_chart`] hands
//!   `oci://` URLs to it.
//!
//! ```no_run
//! use helmrelease_sources::{Auth, Options, fetch_chart};
//! let chart = fetch_chart(
//!     "https://charts.example.com/stable",
//!     "my-app",
//!     "~1.4",
//!     &Options {
//!         cache_dir: Some("/var/cache/helmrelease".into()),
//!         auth: Some(Auth::Basic { username: "ci".into(), password: "secret".into() }),
//!         ..Options::default()
//!     },
//! )?;
//! assert!(chart.version.starts_with("1.4."));
//! # Ok::<(), helmrelease_sources::Error>(())
//! ```
//!
//! ```no_run
//! use helmrelease_sources::{Options, fetch_oci_chart};
//! // As `helm template oci://ghcr.io/stefanprodan/charts/podinfo --version 6.5.4`.
//! let chart = fetch_oci_chart("oci://ghcr.io/stefanprodan/charts", "podinfo", "6.5.4",
//!     &Options::default())?;
//! assert_eq!(chart.version, "6.5.4");
//! # Ok::<(), helmrelease_sources::Error>(())
//! ```

pub mod cache;
mod error;
pub mod http;
pub mod index;
pub mod oci;
pub mod repo;
pub mod url;
pub mod version;

pub use error::{Error, Result};
pub use http::{Auth, Client, ClientOptions};
pub use index::{ChartVersion, Index};
pub use oci::{fetch_oci_chart, fetch_oci_chart_with};
pub use repo::{
    FetchedChart, Options, download_index, fetch_chart, fetch_chart_from_index, fetch_chart_with,
    fetch_index, fetch_index_with,
};
pub use version::{Constraint, Version};
