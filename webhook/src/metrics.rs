//! Prometheus metrics of the webhook: requests by endpoint, kind, operation and decision;
//! findings by rule; latency. Label values come from fixed sets or from the request's kind
//! and operation, never from object contents.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Decisions.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Decision {
    /// Allowed without findings.
    Allowed,
    /// Allowed with warnings.
    Warned,
    /// Allowed with a patch.
    Patched,
    /// Denied by a rule.
    Denied,
    /// Not a kind the rules judge; allowed.
    Ignored,
    /// A malformed request.
    Invalid,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    kind: &'static str,
    operation: &'static str,
    decision: Decision,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    endpoint: &'static str,
    rule: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

/// The webhook's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    findings: Family<RuleLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Kinds we label by name; anything else is `other`, so a misrouted request cannot grow the
/// label set without bound.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "HelmRelease" => "HelmRelease",
        "HelmChart" => "HelmChart",
        "HelmRepository" => "HelmRepository",
        "OCIRepository" => "OCIRepository",
        "" => "unknown",
        _ => "other",
    }
}

fn operation_label(operation: &str) -> &'static str {
    match operation {
        "CREATE" => "CREATE",
        "UPDATE" => "UPDATE",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        "" => "unknown",
        _ => "other",
    }
}

impl Metrics {
    /// A fresh registry with the `helmrelease_webhook` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("helmrelease_webhook");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "admission_requests",
            "Admission requests by endpoint, kind, operation and decision",
            requests.clone(),
        );
        let findings = Family::<RuleLabels, Counter>::default();
        registry.register(
            "rule_findings",
            "Rule findings (violations of any action) by rule",
            findings.clone(),
        );
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25,
            ])
        });
        registry.register(
            "admission_duration_seconds",
            "Time to decide an admission request",
            latency.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            findings,
            latency,
        }
    }

    /// Records one request.
    pub fn record(&self, endpoint: &'static str, outcome: &crate::review::Outcome, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                kind: kind_label(&outcome.kind),
                operation: operation_label(&outcome.operation),
                decision: outcome.decision,
            })
            .inc();
        for rule in &outcome.rules {
            self.findings
                .get_or_create(&RuleLabels { endpoint, rule })
                .inc();
        }
        self.latency
            .get_or_create(&EndpointLabels { endpoint })
            .observe(seconds);
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
