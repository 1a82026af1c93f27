//! `semver` and `semverCompare`: Masterminds/semver 3.4 (`NewVersion` with its default
//! coercion, `NewConstraint`, `Constraints.Check`), as Helm 3.21 links it, from
//! [`helmrelease_semver`]; its errors display Go's texts, which these functions return as they are.
//!
//! `semver` returns a `*semver.Version` object with the version's methods (`Major`, `Minor`,
//! `Patch`, `Prerelease`, `Metadata`, `Original`, `String`, `IncMajor`/`IncMinor`/`IncPatch`,
//! `SetPrerelease`/`SetMetadata`, `Compare`, `Equal`, `LessThan`, `LessThanEqual`,
//! `GreaterThan`, `GreaterThanEqual`); the JSON, text and SQL (un)marshalling methods are left
//! out. Methods taking a `*semver.Version` accept any value and report a non-version argument
//! as their own error, where Go's executor would reject the argument before the call.

use std::rc::Rc;

use helmrelease_gotmpl::{Funcs, Function, Object, Signature, Type, Value};
use helmrelease_semver::{Constraints, Version};

use super::{NIL_DEREF, add, go_int, str_arg, string};

pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "semver",
        &[Type::String],
        None,
        "func(string) (*semver.Version, error)",
        |a| {
            let v = Version::parse(str_arg(a, 0)?).map_err(|e| e.to_string())?;
            Ok(into_value(v, true))
        },
    );
    add(
        funcs,
        "semverCompare",
        &[Type::String, Type::String],
        None,
        "func(string, string) (bool, error)",
        |a| {
            let c = Constraints::parse(str_arg(a, 0)?).map_err(|e| e.to_string())?;
            let v = Version::parse(str_arg(a, 1)?).map_err(|e| e.to_string())?;
            Ok(Value::Bool(c.check(&v)))
        },
    );
}

fn into_value(v: Version, pointer: bool) -> Value {
    Value::Object(Rc::new(VersionObject { v, pointer }))
}

/// `*semver.Version` (or, from `IncPatch` and friends, `semver.Version`).
#[derive(Debug)]
struct VersionObject {
    v: Version,
    pointer: bool,
}

#[derive(Debug, Clone, Copy)]
enum Method {
    String,
    Major,
    Minor,
    Patch,
    Prerelease,
    Metadata,
    Original,
    IncPatch,
    IncMinor,
    IncMajor,
    SetPrerelease,
    SetMetadata,
    Compare,
    Equal,
    LessThan,
    LessThanEqual,
    GreaterThan,
    GreaterThanEqual,
}

impl Object for VersionObject {
    fn type_name(&self) -> String {
        if self.pointer {
            "*semver.Version".to_string()
        } else {
            "semver.Version".to_string()
        }
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn method(&self, name: &str) -> Option<Rc<dyn Function>> {
        let method = match name {
            "String" => Method::String,
            "Major" => Method::Major,
            "Minor" => Method::Minor,
            "Patch" => Method::Patch,
            "Prerelease" => Method::Prerelease,
            "Metadata" => Method::Metadata,
            "IncPatch" => Method::IncPatch,
            "IncMinor" => Method::IncMinor,
            "IncMajor" => Method::IncMajor,
            "SetPrerelease" => Method::SetPrerelease,
            "SetMetadata" => Method::SetMetadata,
            // Pointer-receiver methods: a `semver.Version` returned by a method is not
            // addressable, so templates cannot call them on it.
            _ if !self.pointer => return None,
            "Original" => Method::Original,
            "Compare" => Method::Compare,
            "Equal" => Method::Equal,
            "LessThan" => Method::LessThan,
            "LessThanEqual" => Method::LessThanEqual,
            "GreaterThan" => Method::GreaterThan,
            "GreaterThanEqual" => Method::GreaterThanEqual,
            _ => return None,
        };
        Some(Rc::new(BoundMethod {
            v: self.v.clone(),
            method,
        }))
    }

    fn format(&self) -> String {
        self.v.to_string()
    }
}

/// A version method bound to its receiver.
struct BoundMethod {
    v: Version,
    method: Method,
}

/// The version a `*semver.Version` argument holds.
fn version_arg(args: &[Value]) -> Result<Version, String> {
    match args.first() {
        Some(Value::Object(o)) if o.type_name() == "*semver.Version" => {
            Version::parse(&o.format()).map_err(|e| e.to_string())
        }
        Some(Value::Nil) | None => Err(NIL_DEREF.to_string()),
        Some(v) => Err(format!(
            "wrong type for value; expected *semver.Version; got {}",
            v.type_name()
        )),
    }
}

impl Function for BoundMethod {
    fn call(&self, args: &[Value]) -> Result<Value, String> {
        let v = &self.v;
        // `Compare` as Go's int: -1, 0 or 1.
        let compare = || -> Result<i64, String> { Ok(v.cmp(&version_arg(args)?) as i64) };
        Ok(match self.method {
            Method::String => string(v.to_string()),
            Method::Major => Value::Uint(v.major()),
            Method::Minor => Value::Uint(v.minor()),
            Method::Patch => Value::Uint(v.patch()),
            Method::Prerelease => string(v.prerelease()),
            Method::Metadata => string(v.metadata()),
            Method::Original => string(v.original()),
            Method::IncPatch => into_value(v.inc_patch(), false),
            Method::IncMinor => into_value(v.inc_minor(), false),
            Method::IncMajor => into_value(v.inc_major(), false),
            Method::SetPrerelease => into_value(
                v.set_prerelease(str_arg(args, 0)?)
                    .map_err(|e| e.to_string())?,
                false,
            ),
            Method::SetMetadata => into_value(
                v.set_metadata(str_arg(args, 0)?)
                    .map_err(|e| e.to_string())?,
                false,
            ),
            Method::Compare => go_int(compare()?),
            Method::Equal => match args.first() {
                // Equal checks for nil before comparing.
                Some(Value::Nil) | None => Value::Bool(false),
                _ => Value::Bool(compare()? == 0),
            },
            Method::LessThan => Value::Bool(compare()? < 0),
            Method::LessThanEqual => Value::Bool(compare()? <= 0),
            Method::GreaterThan => Value::Bool(compare()? > 0),
            Method::GreaterThanEqual => Value::Bool(compare()? >= 0),
        })
    }

    fn signature(&self) -> Signature {
        match self.method {
            Method::SetPrerelease | Method::SetMetadata => Signature::fixed(&[Type::String]),
            Method::Compare
            | Method::Equal
            | Method::LessThan
            | Method::LessThanEqual
            | Method::GreaterThan
            | Method::GreaterThanEqual => Signature::fixed(&[Type::Any]),
            _ => Signature::fixed(&[]),
        }
    }

    fn type_name(&self) -> String {
        match self.method {
            Method::String | Method::Prerelease | Method::Metadata | Method::Original => {
                "func() string"
            }
            Method::Major | Method::Minor | Method::Patch => "func() uint64",
            Method::IncPatch | Method::IncMinor | Method::IncMajor => "func() semver.Version",
            Method::SetPrerelease | Method::SetMetadata => "func(string) (semver.Version, error)",
            Method::Compare => "func(*semver.Version) int",
            _ => "func(*semver.Version) bool",
        }
        .to_string()
    }
}
