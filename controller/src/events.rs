//! Kubernetes Events about HelmReleases, written as Flux's event recorder writes them: from
//! component `helm-controller`, annotated with the chart version (`revision`), the config
//! digest (`token`), the app version and the OCI digest under `helm.toolkit.fluxcd.io/`.
//! An Event that cannot be written is logged, never fatal.

use helmrelease_crds::helmrelease::HelmRelease;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, PostParams};
use kube::{Client, Resource, ResourceExt};
use std::collections::BTreeMap;

/// Flux's event annotations.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// Chart version.
    pub revision: Option<String>,
    /// Config digest.
    pub token: Option<String>,
    /// Chart appVersion.
    pub app_version: Option<String>,
    /// OCI digest.
    pub oci_digest: Option<String>,
}

impl Meta {
    fn annotations(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let group = "helm.toolkit.fluxcd.io";
        for (key, value) in [
            ("revision", &self.revision),
            ("token", &self.token),
            ("app-version", &self.app_version),
            ("oci-digest", &self.oci_digest),
        ] {
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                out.insert(format!("{group}/{key}"), v.clone());
            }
        }
        out
    }
}

/// Writes Events.
#[derive(Clone)]
pub struct Events {
    client: Client,
    component: String,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("component", &self.component)
            .finish()
    }
}

/// Event messages are capped as the API server's limit for `message` allows.
const MAX_MESSAGE: usize = 1024;

fn truncate(message: &str) -> String {
    if message.len() <= MAX_MESSAGE {
        return message.to_string();
    }
    let mut cut = MAX_MESSAGE - 3;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &message[..cut])
}

impl Events {
    /// Events from `component`.
    pub fn new(client: Client, component: &str) -> Events {
        Events {
            client,
            component: component.to_string(),
        }
    }

    /// A Normal event.
    pub async fn normal(&self, hr: &HelmRelease, reason: &str, message: &str, meta: Meta) {
        self.write(hr, "Normal", reason, message, meta).await;
    }

    /// A Warning event.
    pub async fn warning(&self, hr: &HelmRelease, reason: &str, message: &str, meta: Meta) {
        self.write(hr, "Warning", reason, message, meta).await;
    }

    async fn write(&self, hr: &HelmRelease, kind: &str, reason: &str, message: &str, meta: Meta) {
        let namespace = hr.namespace().unwrap_or_default();
        let now = jiff::Timestamp::now();
        let chrono_now = Time(now);
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{:x}", hr.name_any(), now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                annotations: Some(meta.annotations()).filter(|a| !a.is_empty()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(HelmRelease::api_version(&()).to_string()),
                kind: Some(HelmRelease::kind(&()).to_string()),
                name: Some(hr.name_any()),
                namespace: Some(namespace.clone()),
                uid: hr.uid(),
                resource_version: hr.resource_version(),
                ..ObjectReference::default()
            },
            reason: Some(reason.to_string()),
            message: Some(truncate(message)),
            type_: Some(kind.to_string()),
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: None,
            }),
            first_timestamp: Some(chrono_now.clone()),
            last_timestamp: Some(chrono_now),
            event_time: None::<MicroTime>,
            count: Some(1),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.component.clone()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            tracing::warn!(helmrelease = %hr.name_any(), reason, "could not write event: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_flux_s_and_empty_ones_are_left_out() {
        let meta = Meta {
            revision: Some("1.0.0".into()),
            token: Some("sha256:abc".into()),
            app_version: Some(String::new()),
            oci_digest: None,
        };
        let got: Vec<(String, String)> = meta.annotations().into_iter().collect();
        assert_eq!(
            got,
            [
                (
                    "helm.toolkit.fluxcd.io/revision".to_string(),
                    "1.0.0".to_string()
                ),
                (
                    "helm.toolkit.fluxcd.io/token".to_string(),
                    "sha256:abc".to_string()
                ),
            ]
        );
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_MESSAGE, "{}", cut.len());
        assert!(cut.ends_with("..."));
        assert_eq!(truncate("short"), "short");
    }
}
