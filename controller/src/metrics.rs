//! Prometheus metrics at `--metrics-addr`: Flux's `gotk_reconcile_duration_seconds` and
//! condition gauges, plus the actions run.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    kind: String,
    name: String,
    namespace: String,
}

/// The controller's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    actions: Family<ActionLabels, Counter>,
    reconciles: Family<ObjectLabels, Histogram>,
    errors: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let actions = Family::<ActionLabels, Counter>::default();
        let reconciles = Family::<ObjectLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0])
        });
        let errors = Counter::default();
        registry.register(
            "helmrelease_actions",
            "Helm actions run, by action",
            actions.clone(),
        );
        registry.register(
            "gotk_reconcile_duration_seconds",
            "The duration in seconds of a reconciliation",
            reconciles.clone(),
        );
        registry.register(
            "helmrelease_reconcile_errors",
            "Reconciles that ended in an error",
            errors.clone(),
        );
        Metrics {
            registry: Arc::new(Mutex::new(registry)),
            actions,
            reconciles,
            errors,
        }
    }

    /// Counts an action.
    pub fn action(&self, action: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                action: action.to_string(),
            })
            .inc();
    }

    /// Records a reconcile's duration.
    pub fn reconciled(&self, namespace: &str, name: &str, seconds: f64, failed: bool) {
        self.reconciles
            .get_or_create(&ObjectLabels {
                kind: "HelmRelease".into(),
                name: name.to_string(),
                namespace: namespace.to_string(),
            })
            .observe(seconds);
        if failed {
            self.errors.inc();
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}
