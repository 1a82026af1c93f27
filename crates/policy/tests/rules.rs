//! Every rule, with good and bad objects side by side.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_policy::{
    Action, Evaluation, Lookups, NoLookups, ObjectIndex, Operation, PolicySet, Request, RuleId,
    SourceView, evaluate,
};
use serde_json::{Value, json};

fn hr(spec: Value) -> Value {
    json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
           "metadata": {"name": "podinfo", "namespace": "apps"}, "spec": spec})
}

/// A HelmRelease that passes every default rule.
fn good_spec() -> Value {
    json!({
        "interval": "10m",
        "chart": {"spec": {"chart": "podinfo", "version": "6.5.4",
                           "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}},
        "install": {"remediation": {"retries": 3}},
        "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3, "remediateLastFailure": true}},
    })
}

fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"))[key] = new;
    value
}

fn without(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key);
    value
}

fn check_with(object: &Value, sources: &dyn SourceView, mutate: bool) -> Evaluation {
    let request = Request::create(object).mutating(mutate);
    evaluate(&request, &PolicySet::builtin(), sources).unwrap()
}

fn check(object: &Value) -> Evaluation {
    check_with(object, &NoLookups, false)
}

fn lines(e: &Evaluation) -> Vec<String> {
    e.violations.iter().map(ToString::to_string).collect()
}

#[test]
fn a_good_helmrelease_passes_every_rule() {
    let e = check(&hr(good_spec()));
    assert!(e.violations.is_empty(), "{:?}", lines(&e));
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
}

#[test]
fn pinned_version_accepts_exact_versions_only() {
    let good = ["6.5.4", "v6.5.4", "1.0.0-rc.1", "1.2.3+build.7", "0.0.1"];
    for v in good {
        let e = check(&hr(with(good_spec(), "/chart/spec/version", json!(v))));
        assert!(e.violations.is_empty(), "{v}: {:?}", lines(&e));
    }
    let bad: &[(&str, &str)] = &[
        (
            "^20",
            r#"pinned-version: spec.chart.spec.version: "^20" is a caret range (>=20.0.0 <21.0.0); pin an exact version such as "20.0.0""#,
        ),
        (
            "~20.11",
            r#"pinned-version: spec.chart.spec.version: "~20.11" is a tilde range (>=20.11.0 <20.12.0); pin an exact version such as "20.11.0""#,
        ),
        (
            "20.11",
            r#"pinned-version: spec.chart.spec.version: "20.11" is a partial version, which Flux reads as a range (>=20.11.0 <20.12.0); pin an exact version such as "20.11.0""#,
        ),
        (
            "20",
            r#"pinned-version: spec.chart.spec.version: "20" is a partial version, which Flux reads as a range (>=20.0.0 <21.0.0); pin an exact version such as "20.0.0""#,
        ),
        (
            "*",
            r#"pinned-version: spec.chart.spec.version: "*" matches any version, so every new chart is installed; pin an exact version (MAJOR.MINOR.PATCH, e.g. "1.2.3")"#,
        ),
        (
            "6.5.x",
            r#"pinned-version: spec.chart.spec.version: "6.5.x" is a wildcard range (>=6.5.0 <6.6.0); pin an exact version such as "6.5.0""#,
        ),
        (
            ">=4.0.0 <5.0.0",
            r#"pinned-version: spec.chart.spec.version: ">=4.0.0 <5.0.0" is a comparison range; pin an exact version such as "4.0.0""#,
        ),
        (
            ">=1.0.0",
            r#"pinned-version: spec.chart.spec.version: ">=1.0.0" is a comparison range; pin an exact version such as "1.0.0""#,
        ),
        (
            "1.0.0 - 2.0.0",
            r#"pinned-version: spec.chart.spec.version: "1.0.0 - 2.0.0" is a hyphen range; pin an exact version such as "1.0.0""#,
        ),
        (
            "^1 || ^2",
            r#"pinned-version: spec.chart.spec.version: "^1 || ^2" is a union of ranges; pin an exact version such as "1.0.0""#,
        ),
        (
            "=6.5.4",
            r#"pinned-version: spec.chart.spec.version: "=6.5.4" pins with an operator; write the bare version "6.5.4""#,
        ),
        (
            "latest",
            r#"pinned-version: spec.chart.spec.version: "latest" is not an exact SemVer version: it is not a version number; pin an exact version (MAJOR.MINOR.PATCH, e.g. "1.2.3")"#,
        ),
        (
            "06.5.4",
            r#"pinned-version: spec.chart.spec.version: "06.5.4" is not an exact SemVer version: it has a leading zero in the major part; pin an exact version such as "6.5.4""#,
        ),
    ];
    for (v, want) in bad {
        let e = check(&hr(with(good_spec(), "/chart/spec/version", json!(v))));
        assert_eq!(lines(&e), vec![want.to_string()], "{v}");
        assert!(e.denied(), "{v}");
    }
    let missing = check(&hr(without(good_spec(), "/chart/spec/version")));
    assert_eq!(
        lines(&missing),
        vec![
            r#"pinned-version: spec.chart.spec.version: not set, so Flux uses "*" and installs every new chart version as it appears; pin an exact version (MAJOR.MINOR.PATCH, e.g. "1.2.3")"#
        ]
    );
    let number = check(&hr(with(good_spec(), "/chart/spec/version", json!(20.11))));
    assert_eq!(
        lines(&number),
        vec![
            r#"pinned-version: spec.chart.spec.version: is a number (20.11), not a string; quote it, e.g. version: "20.11""#
        ]
    );
}

#[test]
fn pinned_version_suggests_the_version_flux_resolved() {
    let mut object = hr(with(good_spec(), "/chart/spec/version", json!("^20")));
    object["status"] = json!({"lastAttemptedRevision": "20.11.4"});
    let e = check(&object);
    assert!(
        lines(&e)[0]
            .ends_with(r#"pin an exact version such as "20.11.4", the version Flux resolved last"#),
        "{:?}",
        lines(&e)
    );

    // Or from the generated HelmChart in the source namespace.
    let object = hr(with(good_spec(), "/chart/spec/version", json!("~20.11")));
    let chart = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
        "metadata": {"name": "apps-podinfo", "namespace": "flux-system"},
        "spec": {"chart": "podinfo", "interval": "1m", "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}},
        "status": {"artifact": {"revision": "20.11.2"}}});
    let index = ObjectIndex::new([&chart], Lookups::Partial, "default");
    let e = check_with(&object, &index, false);
    assert!(
        lines(&e)[0].ends_with(r#"such as "20.11.2", the version Flux resolved last"#),
        "{:?}",
        lines(&e)
    );
}

#[test]
fn pinned_version_ignores_git_and_bucket_sources_and_chart_refs() {
    for kind in ["GitRepository", "Bucket"] {
        let spec = with(
            with(good_spec(), "/chart/spec/sourceRef/kind", json!(kind)),
            "/chart/spec/version",
            json!("*"),
        );
        assert!(check(&hr(spec)).violations.is_empty(), "{kind}");
    }
    let chart_ref = json!({"interval": "10m", "chartRef": {"kind": "HelmChart", "name": "c", "namespace": "apps"},
        "install": {"remediation": {"retries": 3}}, "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}}});
    assert!(check(&hr(chart_ref)).violations.is_empty());
}

#[test]
fn pinned_version_applies_to_helmcharts() {
    let chart = |version: Value, kind: &str| {
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
               "metadata": {"name": "c", "namespace": "flux-system"},
               "spec": {"chart": "podinfo", "version": version, "interval": "1m",
                        "sourceRef": {"kind": kind, "name": "podinfo"}}})
    };
    assert!(
        check(&chart(json!("6.5.4"), "HelmRepository"))
            .violations
            .is_empty()
    );
    assert_eq!(
        lines(&check(&chart(json!("6.5.*"), "HelmRepository"))),
        vec![
            r#"pinned-version: spec.version: "6.5.*" is a wildcard range (>=6.5.0 <6.6.0); pin an exact version such as "6.5.0""#
        ]
    );
    assert!(
        check(&chart(json!("*"), "GitRepository"))
            .violations
            .is_empty()
    );
}

fn oci(reference: Value) -> Value {
    json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
           "metadata": {"name": "podinfo", "namespace": "flux-system"},
           "spec": {"url": "oci://ghcr.io/stefanprodan/charts/podinfo", "interval": "10m", "ref": reference}})
}

#[test]
fn pinned_oci_ref() {
    for good in [
        json!({"digest": "sha256:abc"}),
        json!({"tag": "6.5.4"}),
        json!({"digest": "sha256:abc", "semver": "*"}),
    ] {
        assert!(check(&oci(good.clone())).violations.is_empty(), "{good}");
    }
    let cases = [
        (
            json!({"tag": "latest"}),
            r#"pinned-oci-ref: spec.ref.tag: the OCIRepository follows the "latest" tag; pin spec.ref.digest (sha256:...) or an exact version tag"#,
        ),
        (
            json!({}),
            r#"pinned-oci-ref: spec.ref: the OCIRepository sets no spec.ref, so it follows the "latest" tag; set spec.ref.digest (sha256:...) or spec.ref.tag to an exact version"#,
        ),
        (
            json!({"semver": ">=6.0.0"}),
            r#"pinned-oci-ref: spec.ref.semver: the OCIRepository follows the SemVer range ">=6.0.0" (spec.ref.semver); pin spec.ref.digest (sha256:...) or an exact version tag in spec.ref.tag"#,
        ),
        (
            json!({"semver": "6.5.4", "tag": "latest"}),
            r#"pinned-oci-ref: spec.ref.semver: the OCIRepository follows the SemVer range "6.5.4" (spec.ref.semver); pin spec.ref.tag: "6.5.4" or spec.ref.digest instead"#,
        ),
    ];
    for (reference, want) in cases {
        assert_eq!(
            lines(&check(&oci(reference.clone()))),
            vec![want.to_string()],
            "{reference}"
        );
    }
    let mut no_ref = oci(json!({}));
    no_ref["spec"].as_object_mut().unwrap().remove("ref");
    assert_eq!(check(&no_ref).violations.len(), 1);
}

#[test]
fn a_helmrelease_on_a_known_floating_oci_repository_is_denied_naming_it() {
    let spec = json!({"interval": "10m", "chartRef": {"kind": "OCIRepository", "name": "podinfo", "namespace": "flux-system"},
        "install": {"remediation": {"retries": 3}}, "upgrade": {"cleanupOnFail": true, "remediation": {"retries": 3}}});
    let floating = oci(json!({"tag": "latest"}));
    let index = ObjectIndex::new([&floating], Lookups::Complete, "default");
    let e = check_with(&hr(spec.clone()), &index, false);
    assert_eq!(
        lines(&e),
        vec![
            r#"pinned-oci-ref: spec.chartRef: OCIRepository flux-system/podinfo follows the "latest" tag, so the chart changes without a change here; pin spec.ref.digest or an exact spec.ref.tag on OCIRepository flux-system/podinfo"#
        ]
    );
    let pinned = oci(json!({"digest": "sha256:abc"}));
    let index = ObjectIndex::new([&pinned], Lookups::Complete, "default");
    assert!(
        check_with(&hr(spec.clone()), &index, false)
            .violations
            .is_empty()
    );
    assert!(
        check(&hr(spec)).violations.is_empty(),
        "unknown OCIRepository: nothing to say"
    );
}

fn helm_repo(namespace: &str) -> Value {
    json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
           "metadata": {"name": "podinfo", "namespace": namespace}, "spec": {"url": "https://stefanprodan.github.io/podinfo"}})
}

#[test]
fn explicit_source_namespace_names_where_the_source_is() {
    let spec = without(good_spec(), "/chart/spec/sourceRef/namespace");
    let elsewhere = helm_repo("flux-system");
    let index = ObjectIndex::new([&elsewhere], Lookups::Complete, "default");
    assert_eq!(
        lines(&check_with(&hr(spec.clone()), &index, true)),
        vec![
            r#"explicit-source-namespace: spec.chart.spec.sourceRef.namespace: not set, so Flux looks for HelmRepository "podinfo" in "apps", but it is in flux-system; set spec.chart.spec.sourceRef.namespace: flux-system"#
        ]
    );
    let empty = ObjectIndex::new([], Lookups::Complete, "default");
    assert_eq!(
        lines(&check_with(&hr(spec.clone()), &empty, true)),
        vec![
            r#"explicit-source-namespace: spec.chart.spec.sourceRef.namespace: not set, and no HelmRepository named "podinfo" exists in any namespace; create HelmRepository "podinfo", then set spec.chart.spec.sourceRef.namespace to its namespace"#
        ]
    );
    assert_eq!(
        lines(&check(&hr(spec.clone()))),
        vec![
            r#"explicit-source-namespace: spec.chart.spec.sourceRef.namespace: not set, so Flux looks for HelmRepository "podinfo" only in the HelmRelease's namespace "apps"; set spec.chart.spec.sourceRef.namespace to the namespace that holds HelmRepository "podinfo""#
        ]
    );
    let two = helm_repo("other");
    let index = ObjectIndex::new([&elsewhere, &two], Lookups::Complete, "default");
    assert!(
        lines(&check_with(&hr(spec), &index, true))[0]
            .ends_with("set spec.chart.spec.sourceRef.namespace to one of flux-system, other")
    );
}

#[test]
fn mutation_fills_the_namespace_only_when_the_source_is_there() {
    let spec = without(good_spec(), "/chart/spec/sourceRef/namespace");
    let here = helm_repo("apps");
    let index = ObjectIndex::new([&here], Lookups::Complete, "default");
    let e = check_with(&hr(spec.clone()), &index, true);
    assert!(e.violations.is_empty(), "{:?}", lines(&e));
    assert_eq!(
        serde_json::to_value(&e.patch).unwrap(),
        json!([{"op": "add", "path": "/spec/chart/spec/sourceRef/namespace", "value": "apps"}])
    );
    // Without mutation the same object is a violation whose fix names the namespace.
    let e = check_with(&hr(spec), &index, false);
    assert!(
        lines(&e)[0].ends_with("set spec.chart.spec.sourceRef.namespace: apps"),
        "{:?}",
        lines(&e)
    );
}

#[test]
fn allowed_source_namespaces_when_enabled() {
    let policy: helmrelease_crds::HelmReleasePolicy = serde_json::from_value(json!({
        "apiVersion": "policy.helmrelease.dev/v1alpha1", "kind": "HelmReleasePolicy", "metadata": {"name": "tenants"},
        "spec": {"rules": {"allowedSourceNamespaces": {"namespaces": ["shared-sources"]}}}})).unwrap();
    let set = PolicySet::new([policy]);
    let run = |ns: &str| {
        let object = hr(with(
            good_spec(),
            "/chart/spec/sourceRef/namespace",
            json!(ns),
        ));
        let req = Request::create(&object);
        evaluate(&req, &set, &NoLookups).unwrap()
    };
    assert!(run("shared-sources").violations.is_empty());
    assert!(
        run("apps").violations.is_empty(),
        "own namespace is always allowed"
    );
    let e = run("flux-system");
    assert_eq!(
        lines(&e),
        vec![
            r#"allowed-source-namespaces: spec.chart.spec.sourceRef.namespace: HelmRepository "podinfo" in "flux-system" is outside the namespaces this policy allows; use a HelmRepository in "apps" or in one of: shared-sources"#
        ]
    );
    assert!(e.denied());
    assert!(
        check(&hr(with(
            good_spec(),
            "/chart/spec/sourceRef/namespace",
            json!("elsewhere")
        )))
        .violations
        .is_empty(),
        "off by default"
    );
}

#[test]
fn cleanup_remediation_and_history_warn() {
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            without(good_spec(), "/upgrade/cleanupOnFail"),
            vec![
                "cleanup-on-fail: spec.upgrade.cleanupOnFail: not set, so a failed upgrade leaves the objects it created behind; set spec.upgrade.cleanupOnFail: true",
            ],
        ),
        (
            with(good_spec(), "/upgrade/cleanupOnFail", json!(false)),
            vec![
                "cleanup-on-fail: spec.upgrade.cleanupOnFail: is false, so a failed upgrade leaves the objects it created behind; set spec.upgrade.cleanupOnFail: true",
            ],
        ),
        (
            with(good_spec(), "/install/remediation/retries", json!(0)),
            vec![
                "remediation-retries: spec.install.remediation.retries: is 0, so a failed install is not retried; set spec.install.remediation.retries to at least 1, e.g. 3",
            ],
        ),
        (
            without(good_spec(), "/upgrade/remediation/retries"),
            vec![
                "remediation-retries: spec.upgrade.remediation.retries: not set, so a failed upgrade is not retried; set spec.upgrade.remediation.retries: 3",
            ],
        ),
        (
            with(good_spec(), "/install/remediation/retries", json!(-1)),
            vec![],
        ),
        (
            with(
                good_spec(),
                "/install",
                json!({"strategy": {"name": "RetryOnFailure"}}),
            ),
            vec![],
        ),
        (
            with(good_spec(), "/maxHistory", json!(0)),
            vec![
                "max-history: spec.maxHistory: 0 keeps every revision in etcd (no limit), each a Secret of up to 1 MiB; set spec.maxHistory between 1 and 10 (Flux's default is 5)",
            ],
        ),
        (
            with(good_spec(), "/maxHistory", json!(11)),
            vec![
                "max-history: spec.maxHistory: 11 keeps more revisions than the limit of 10; set spec.maxHistory between 1 and 10 (Flux's default is 5)",
            ],
        ),
        (with(good_spec(), "/maxHistory", json!(10)), vec![]),
        (with(good_spec(), "/maxHistory", json!(1)), vec![]),
    ];
    for (spec, want) in cases {
        let e = check(&hr(spec.clone()));
        assert_eq!(lines(&e), want, "{spec}");
        assert!(!e.denied(), "warn rules never deny: {spec}");
        assert_eq!(e.admission_warnings().len(), want.len());
    }
}

#[test]
fn mutation_fills_unset_fields_and_never_overwrites() {
    let bare = json!({"interval": "10m", "chart": {"spec": {"chart": "podinfo", "version": "6.5.4",
        "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}}});
    let e = check_with(&hr(bare), &NoLookups, true);
    assert!(e.violations.is_empty(), "{:?}", lines(&e));
    assert_eq!(
        serde_json::to_value(&e.patch).unwrap(),
        json!([
            {"op": "add", "path": "/spec/upgrade", "value": {"cleanupOnFail": true}},
            {"op": "add", "path": "/spec/install", "value": {"remediation": {"retries": 3}}},
            {"op": "add", "path": "/spec/upgrade/remediation", "value": {"retries": 3}},
            {"op": "add", "path": "/spec/upgrade/remediation/remediateLastFailure", "value": true},
        ])
    );
    // Values the user wrote stay, even when they violate a rule.
    let written = json!({"interval": "10m", "chart": {"spec": {"chart": "podinfo", "version": "6.5.4",
        "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}},
        "install": {"remediation": {"retries": 0}},
        "upgrade": {"cleanupOnFail": false, "remediation": {"retries": 5, "remediateLastFailure": false}}});
    let e = check_with(&hr(written), &NoLookups, true);
    assert!(e.patch.is_empty(), "{:?}", e.patch);
    assert_eq!(e.violations.len(), 2, "{:?}", lines(&e));
}

#[test]
fn mutation_patches_apply_cleanly_in_order() {
    // Apply the patch with a tiny RFC 6902 `add` and compare with what the rules read.
    let bare = hr(
        json!({"interval": "10m", "upgrade": {"force": true}, "chart": {"spec": {"chart": "podinfo",
        "version": "6.5.4", "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}}),
    );
    let here = helm_repo("apps");
    let index = ObjectIndex::new([&here], Lookups::Complete, "default");
    let e = check_with(&bare, &index, true);
    let mut patched = bare.clone();
    for op in &e.patch {
        let (parent, key) = op.path.rsplit_once('/').unwrap();
        let target = patched
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("parent of {} missing", op.path));
        assert!(
            target.get(key).is_none(),
            "add over an existing value at {}",
            op.path
        );
        target[key] = op.value.clone();
    }
    assert_eq!(patched["spec"]["upgrade"]["force"], json!(true));
    assert_eq!(
        patched["spec"]["chart"]["spec"]["sourceRef"]["namespace"],
        json!("apps")
    );
    assert!(check_with(&patched, &index, false).violations.is_empty());
}

#[test]
fn deletion_protection() {
    let mut protected = hr(good_spec());
    protected["metadata"]["annotations"] = json!({"helmrelease.dev/deletion-protection": "true"});
    let delete = |old: &Value| {
        let req = Request {
            operation: Operation::Delete,
            object: None,
            old_object: Some(old),
            namespace: Some("apps"),
            mutate: false,
        };
        evaluate(&req, &PolicySet::builtin(), &NoLookups).unwrap()
    };
    let e = delete(&protected);
    assert!(e.denied());
    assert_eq!(
        e.deny_message().unwrap(),
        r#"deletion-protection: metadata.annotations[helmrelease.dev/deletion-protection]: HelmRelease apps/podinfo is protected by helmrelease.dev/deletion-protection="true" and deleting it uninstalls the Helm release; remove the annotation (or set it to "false") first if the deletion is intended"#
    );
    assert!(!delete(&hr(good_spec())).denied());
    protected["metadata"]["annotations"] = json!({"helmrelease.dev/deletion-protection": "false"});
    assert!(!delete(&protected).denied());
}

#[test]
fn updates_do_not_deny_what_was_already_there() {
    let old = hr(with(good_spec(), "/chart/spec/version", json!("^6")));
    let mut new = old.clone();
    new["metadata"]["finalizers"] = json!(["finalizers.fluxcd.io"]);
    let update = |new: &Value, old: &Value| {
        let req = Request {
            operation: Operation::Update,
            object: Some(new),
            old_object: Some(old),
            namespace: None,
            mutate: false,
        };
        evaluate(&req, &PolicySet::builtin(), &NoLookups).unwrap()
    };
    let e = update(&new, &old);
    assert!(
        !e.denied(),
        "a controller adding a finalizer must not be blocked"
    );
    assert!(e.admission_warnings()[0].ends_with("(already present before this update)"));
    let changed = with(new.clone(), "/spec/chart/spec/version", json!("^7"));
    assert!(update(&changed, &old).denied(), "a new range is denied");
    let fixed = with(new, "/spec/chart/spec/version", json!("6.5.4"));
    assert!(update(&fixed, &old).violations.is_empty());
}

#[test]
fn beta_api_versions_and_oci_helm_repositories_get_warnings() {
    for version in ["v2beta1", "v2beta2"] {
        let mut object = hr(good_spec());
        object["apiVersion"] = json!(format!("helm.toolkit.fluxcd.io/{version}"));
        let e = check(&object);
        assert!(e.violations.is_empty());
        assert_eq!(
            e.warnings,
            vec![format!(
                "apiVersion: helm.toolkit.fluxcd.io/{version} is no longer served by current Flux; move to helm.toolkit.fluxcd.io/v2 (same fields for these rules)"
            )]
        );
        // Same rules for the beta versions.
        let bad = with(object, "/spec/chart/spec/version", json!("^6"));
        assert!(check(&bad).denied());
    }
    let mut repo = helm_repo("flux-system");
    repo["spec"]["type"] = json!("oci");
    assert_eq!(check(&repo).warnings.len(), 1);
}

#[test]
fn policy_actions_change_the_outcome() {
    let policy: helmrelease_crds::HelmReleasePolicy = serde_json::from_value(json!({
        "apiVersion": "policy.helmrelease.dev/v1alpha1", "kind": "HelmReleasePolicy", "metadata": {"name": "p"},
        "spec": {"rules": {"pinnedVersion": {"action": "Warn"}, "cleanupOnFail": {"action": "Enforce"},
                           "maxHistory": {"action": "Audit", "limit": 3}, "remediationRetries": {"action": "Off"}}}})).unwrap();
    let set = PolicySet::new([policy]);
    let spec = with(
        without(
            without(good_spec(), "/upgrade/cleanupOnFail"),
            "/install/remediation/retries",
        ),
        "/chart/spec/version",
        json!("^6"),
    );
    let object = hr(with(spec, "/maxHistory", json!(4)));
    let req = Request::create(&object);
    let e = evaluate(&req, &set, &NoLookups).unwrap();
    let actions: Vec<(RuleId, Action)> = e.violations.iter().map(|v| (v.rule, v.action)).collect();
    assert_eq!(
        actions,
        vec![
            (RuleId::PinnedVersion, Action::Warn),
            (RuleId::CleanupOnFail, Action::Enforce),
            (RuleId::MaxHistory, Action::Audit)
        ]
    );
    assert_eq!(e.deny_message().unwrap().lines().count(), 1);
    assert_eq!(
        e.admission_warnings().len(),
        1,
        "Audit stays silent at admission"
    );
}

#[test]
fn other_kinds_are_rejected_as_unsupported() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}});
    let req = Request::create(&pod);
    let err = evaluate(&req, &PolicySet::builtin(), &NoLookups).unwrap_err();
    assert_eq!(
        err.to_string(),
        "v1 Pod is not a kind helmrelease policies apply to"
    );
}
