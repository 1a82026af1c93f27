//! `--set` and friends, with the expectations of Helm's `pkg/strvals` tests and the errors
//! Helm prints.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_gotmpl::{IntType, Value};
use helmrelease_helm::values::{ValueOptions, strvals};
use serde_json::json;

fn j(v: serde_json::Value) -> Value {
    Value::from_json(&v)
}

fn int(i: i64) -> Value {
    Value::Int(i, IntType::Int64)
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

fn list(items: &[Value]) -> Value {
    Value::List(std::rc::Rc::new(items.to_vec()))
}

fn s(x: &str) -> Value {
    Value::string(x)
}

#[test]
fn parse_set() {
    let ok: Vec<(&str, Value)> = vec![
        ("name1=value1", map(&[("name1", s("value1"))])),
        ("long_int=1234567890", map(&[("long_int", int(1234567890))])),
        ("boolean=true", map(&[("boolean", Value::Bool(true))])),
        ("boolean=FALSE", map(&[("boolean", Value::Bool(false))])),
        ("is_null=null", map(&[("is_null", Value::Nil)])),
        ("zero=0", map(&[("zero", int(0))])),
        ("leading_zeros=00009", map(&[("leading_zeros", s("00009"))])),
        ("negative=-5", map(&[("negative", int(-5))])),
        ("float=1.5", map(&[("float", s("1.5"))])),
        (
            "name1=value1,name2=",
            map(&[("name1", s("value1")), ("name2", s(""))]),
        ),
        (
            "name1=,name2=value2",
            map(&[("name1", s("")), ("name2", s("value2"))]),
        ),
        (
            "name1=one\\,two,name2=three\\,four",
            map(&[("name1", s("one,two")), ("name2", s("three,four"))]),
        ),
        (
            "name1=one\\=two,name2=three\\=four",
            map(&[("name1", s("one=two")), ("name2", s("three=four"))]),
        ),
        ("a\\.b=c", map(&[("a.b", s("c"))])),
        (
            "name1=one two three,name2=3",
            map(&[("name1", s("one two three")), ("name2", int(3))]),
        ),
        ("outer.inner=value", j(json!({"outer": {"inner": "value"}}))),
        (
            "outer.middle.inner=value",
            j(json!({"outer": {"middle": {"inner": "value"}}})),
        ),
        (
            "outer.inner1=value,outer.inner2=value2",
            j(json!({"outer": {"inner1": "value", "inner2": "value2"}})),
        ),
        (
            "name1={value1,value2}",
            j(json!({"name1": ["value1", "value2"]})),
        ),
        (
            "name1={1021,902}",
            map(&[("name1", list(&[int(1021), int(902)]))]),
        ),
        ("name1={}", j(json!({"name1": [""]}))),
        (
            "name1.name2={value1,value2}",
            j(json!({"name1": {"name2": ["value1", "value2"]}})),
        ),
        ("list[0]=foo", j(json!({"list": ["foo"]}))),
        ("list[0].foo=bar", j(json!({"list": [{"foo": "bar"}]}))),
        (
            "list[0].foo=bar,list[0].hello=world",
            j(json!({"list": [{"foo": "bar", "hello": "world"}]})),
        ),
        (
            "list[0]=foo,list[1]=bar,",
            j(json!({"list": ["foo", "bar"]})),
        ),
        (
            "list[0]=foo,list[3]=bar",
            j(json!({"list": ["foo", null, null, "bar"]})),
        ),
        ("noval[0]", j(json!({"noval": []}))),
        ("noval[0]=", j(json!({"noval": [""]}))),
        (
            "nested[0][0]=1",
            map(&[("nested", list(&[list(&[int(1)])]))]),
        ),
        (
            "nested[1][1]=1",
            map(&[("nested", list(&[Value::Nil, list(&[Value::Nil, int(1)])]))]),
        ),
        (
            "name1.name2[1].foo=bar,name1.name2[0].foo=bar",
            j(json!({"name1": {"name2": [{"foo": "bar"}, {"foo": "bar"}]}})),
        ),
        (
            "name1.name2[1].foo=bar",
            j(json!({"name1": {"name2": [null, {"foo": "bar"}]}})),
        ),
        // Helm swallows an unterminated index or a dangling dot (io.EOF ends parsing).
        ("a[0", j(json!({}))),
        ("a.", j(json!({}))),
    ];
    for (input, want) in ok {
        assert_eq!(strvals::parse(input).unwrap(), want, "{input}");
    }
}

#[test]
fn parse_set_errors() {
    let cases = [
        (
            "name1,name2=",
            "key \"name1\" has no value (cannot end with ,)",
        ),
        (
            "name1=value1,,,,name2=value2,",
            "key \"\" has no value (cannot end with ,)",
        ),
        ("name1.name2", "key \"name2\" has no value"),
        ("name1.=name2", "key map \"name1\" has no value"),
        ("name1={1021,902", "list must terminate with '}'"),
        (
            "list[0].foo=bar,list[-30].hello=world",
            "negative -30 index not allowed",
        ),
        (
            "list[0]=foo,list[-20]=bar",
            "negative -20 index not allowed",
        ),
        (
            "illegal[0]name.foo=bar",
            "unexpected data at end of array index: \"name\"",
        ),
        (
            "list[x]=1",
            "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            "list[65537]=1",
            "index of 65537 is greater than maximum supported index of 65536",
        ),
        (
            "a=1,a.b=2",
            "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}",
        ),
        (
            "a=x,a[0]=2",
            "unable to parse key: interface conversion: interface {} is string, not []interface {}",
        ),
        (
            "a[0]=x,a[0][1]=2",
            "unable to parse key: interface conversion: interface {} is string, not []interface {}",
        ),
        (
            "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.aa.bb.cc.dd.ee.ff=1",
            "value name nested level is greater than maximum supported nested level of 30",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(strvals::parse(input).unwrap_err(), want, "{input}");
    }
}

#[test]
fn parse_set_string_json_literal_file() {
    assert_eq!(
        strvals::parse_into_string("a=1,b=true,c=null,d=0", &Value::Nil).unwrap(),
        j(json!({"a": "1", "b": "true", "c": "null", "d": "0"}))
    );
    assert_eq!(
        strvals::parse_json(
            "outer.inner1=\"1\",outer.inner3={\"aa\":\"1\",\"bb\":2,\"cc\":[1,2,3]},outer.inner4=,list=[1, 2]",
            &Value::Nil
        )
        .unwrap(),
        j(json!({"outer": {"inner1": "1", "inner3": {"aa": "1", "bb": 2.0, "cc": [1.0, 2.0, 3.0]}, "inner4": null}, "list": [1.0, 2.0]}))
    );
    assert_eq!(
        strvals::parse_json("a[1]={\"x\":true}", &Value::Nil).unwrap(),
        j(json!({"a": [null, {"x": true}]}))
    );
    assert_eq!(
        strvals::parse_literal_into("name=a,b=c.d", &Value::Nil).unwrap(),
        j(json!({"name": "a,b=c.d"}))
    );
    assert_eq!(
        strvals::parse_literal_into("outer.list[1]=x\\y", &Value::Nil).unwrap(),
        j(json!({"outer": {"list": [null, "x\\y"]}}))
    );
    let mut reader = |p: &str| Ok(Value::string(format!("content of {p}")));
    assert_eq!(
        strvals::parse_into_file("a=one.txt,b={x,y}", &Value::Nil, &mut reader).unwrap(),
        j(json!({"a": "content of one.txt", "b": ["content of x", "content of y"]}))
    );
    // Parsing into existing values overwrites and extends them.
    let base = j(json!({"a": {"b": 1.0, "c": [1.0, 2.0]}, "keep": true}));
    assert_eq!(
        strvals::parse_into("a.b=2,a.c[1]=x", &base).unwrap(),
        map(&[
            (
                "a",
                map(&[("b", int(2)), ("c", list(&[Value::Float(1.0), s("x")]))])
            ),
            ("keep", Value::Bool(true)),
        ])
    );
}

#[test]
fn hostile_input_is_an_error_not_a_crash() {
    let deep = format!("a{}=1", "[0]".repeat(5000));
    assert!(strvals::parse(&deep).is_err());
    for input in [
        "[", "]", "=", "\\", "{", "a={", "a[]", "a[0]]", "a[0][", ".", ",", "a..b=1", "[0]=1",
    ] {
        let _ = strvals::parse(input);
        let _ = strvals::parse_json(input, &Value::Nil);
        let _ = strvals::parse_literal_into(input, &Value::Nil);
    }
}

#[test]
fn value_options_merge_in_helm_order() {
    let tmp = tempfile::tempdir().unwrap();
    let f1 = tmp.path().join("one.yaml");
    let f2 = tmp.path().join("two.yaml");
    let content = tmp.path().join("content.txt");
    std::fs::write(&f1, "a:\n  b: 1\n  c: 2\nlist: [1, 2]\nreplaced: {x: 1}\n").unwrap();
    std::fs::write(&f2, "a:\n  c: 3\nlist: [3]\nreplaced: null\n").unwrap();
    std::fs::write(&content, "file body\n").unwrap();
    let opts = ValueOptions {
        value_files: vec![f1.clone(), f2],
        json_values: vec!["j={\"k\": [1]}".into()],
        values: vec!["a.d=4,s=x".into()],
        string_values: vec!["s=5".into()],
        file_values: vec![format!("f={}", content.display())],
        literal_values: vec!["lit=a,b".into()],
    };
    let got = opts.merge_values().unwrap();
    assert_eq!(
        got,
        map(&[
            (
                "a",
                map(&[
                    ("b", Value::Float(1.0)),
                    ("c", Value::Float(3.0)),
                    ("d", int(4))
                ])
            ),
            ("f", s("file body\n")),
            ("j", j(json!({"k": [1.0]}))),
            ("list", list(&[Value::Float(3.0)])),
            ("lit", s("a,b")),
            ("replaced", Value::Nil),
            ("s", s("5")),
        ])
    );
    let bad = |o: ValueOptions| o.merge_values().unwrap_err().to_string();
    assert_eq!(
        bad(ValueOptions {
            values: vec!["a".into()],
            ..Default::default()
        }),
        "failed parsing --set data: key \"a\" has no value"
    );
    assert_eq!(
        bad(ValueOptions {
            json_values: vec!["a={bad".into()],
            ..Default::default()
        }),
        "failed parsing --set-json data a={bad"
    );
    assert_eq!(
        bad(ValueOptions {
            file_values: vec!["a=/nonexistent/file".into()],
            ..Default::default()
        }),
        "failed parsing --set-file data: open /nonexistent/file: no such file or directory"
    );
    let broken = tmp.path().join("broken.yaml");
    std::fs::write(&broken, "- a\n").unwrap();
    let broken_file = ValueOptions {
        value_files: vec![broken.clone()],
        ..Default::default()
    };
    // Helm 3 reads the first document; Helm 4 every document, saying so when one is wrong.
    assert_eq!(
        broken_file
            .merge_values_as(helmrelease_helm::profile::HelmVersion::V3)
            .unwrap_err()
            .to_string(),
        format!(
            "failed to parse {}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {{}}",
            broken.display()
        )
    );
    assert_eq!(
        bad(broken_file),
        format!(
            "failed to parse {}: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {{}}",
            broken.display()
        )
    );
}
