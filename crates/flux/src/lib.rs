//! What Flux would deploy for a HelmRelease: the chart and where it comes from, the values
//! composed from `valuesFrom` and `values`, the release name and namespaces, the rendered
//! objects after helm-controller's post-rendering, and the digests helm-controller records.
//!
//! Shared by the plugin's `diff` (preview) and the controller, so both state the same desired
//! state. Composition is pure over data; reading the objects a HelmRelease references goes
//! through [`ObjectReader`], fetching charts through `helmrelease-sources`.
//!
//! ```no_run
//! # fn demo(hr: &helmrelease_crds::helmrelease::HelmRelease, reader: &dyn helmrelease_flux::ObjectReader) -> helmrelease_flux::Result<()> {
//! use helmrelease_flux::{ChartOptions, ReleaseLocation, desired};
//! let inputs = desired::load(reader, hr, &ChartOptions::default())?;
//! let location = ReleaseLocation::of(hr);
//! let desired = desired::render(hr, inputs, &location, Default::default())?;
//! println!("{} objects", desired.objects.len());
//! # Ok(()) }
//! ```

pub mod artifact;
pub mod chart;
pub mod desired;
pub mod digest;
mod error;
pub mod package;
pub mod postrender;
pub mod reader;
pub mod values;

pub use chart::{ChartOptions, ChartReference, LoadedChart, load_chart};
pub use desired::{Desired, Inputs, ReleaseLocation};
pub use error::{Error, Result};
pub use reader::{MemoryReader, ObjectKind, ObjectReader, helmrelease_from_value};
pub use values::{SecretValues, compose_values};
