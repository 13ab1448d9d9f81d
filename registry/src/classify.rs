//! Change classification between two client-facing schemas, following
//! graphql-js `findBreakingChanges` / `findDangerousChanges` (and GraphQL
//! Inspector's names for the safe kinds): what breaks existing operations, what
//! may change their results, and what cannot hurt them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{ApiSchema, Field, InputValue, Kind, Ty};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Breaking,
    Dangerous,
    Safe,
}

/// Change kinds; the names of graphql-js's `BreakingChangeType` and
/// `DangerousChangeType` where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    TypeRemoved,
    TypeChangedKind,
    TypeRemovedFromUnion,
    ValueRemovedFromEnum,
    RequiredInputFieldAdded,
    ImplementedInterfaceRemoved,
    FieldRemoved,
    FieldChangedKind,
    RequiredArgAdded,
    ArgRemoved,
    ArgChangedKind,
    DirectiveRemoved,
    DirectiveArgRemoved,
    RequiredDirectiveArgAdded,
    DirectiveRepeatableRemoved,
    DirectiveLocationRemoved,
    RootTypeChanged,
    /// Not a change between two schemas: the `lint` module's finding, named
    /// here so that `acknowledged-changes.yaml` can list it.
    NonNullAcrossSubgraphs,
    ValueAddedToEnum,
    TypeAddedToUnion,
    OptionalInputFieldAdded,
    OptionalArgAdded,
    ImplementedInterfaceAdded,
    ArgDefaultValueChange,
    TypeAdded,
    FieldAdded,
    FieldTypeChangedSafely,
    ArgTypeChangedSafely,
    DirectiveAdded,
}

impl ChangeKind {
    pub fn severity(self) -> Severity {
        use ChangeKind::*;
        match self {
            TypeRemoved
            | TypeChangedKind
            | TypeRemovedFromUnion
            | ValueRemovedFromEnum
            | RequiredInputFieldAdded
            | ImplementedInterfaceRemoved
            | FieldRemoved
            | FieldChangedKind
            | RequiredArgAdded
            | ArgRemoved
            | ArgChangedKind
            | DirectiveRemoved
            | DirectiveArgRemoved
            | RequiredDirectiveArgAdded
            | DirectiveRepeatableRemoved
            | DirectiveLocationRemoved
            | RootTypeChanged
            | NonNullAcrossSubgraphs => Severity::Breaking,
            ValueAddedToEnum
            | TypeAddedToUnion
            | OptionalInputFieldAdded
            | OptionalArgAdded
            | ImplementedInterfaceAdded
            | ArgDefaultValueChange => Severity::Dangerous,
            TypeAdded
            | FieldAdded
            | FieldTypeChangedSafely
            | ArgTypeChangedSafely
            | DirectiveAdded => Severity::Safe,
        }
    }
}

/// One difference, at a schema coordinate such as `Movie.rating` or `Query.movies(first:)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub severity: Severity,
    /// `Type`, `Type.field`, `Type.field(arg:)`, `Enum.VALUE`, `@directive`.
    pub coordinate: String,
    pub message: String,
}

fn change(kind: ChangeKind, coordinate: String, message: String) -> Change {
    Change {
        kind,
        severity: kind.severity(),
        coordinate,
        message,
    }
}

/// graphql-js `isChangeSafeForObjectOrInterfaceField`: output positions may
/// become stricter (non-null), never looser.
pub fn safe_output_change(old: &Ty, new: &Ty) -> bool {
    match (old, new) {
        (Ty::List(o), Ty::List(n)) => safe_output_change(o, n),
        (Ty::List(_), Ty::NonNull(n)) => safe_output_change(old, n),
        (Ty::List(_), _) => false,
        (Ty::NonNull(o), Ty::NonNull(n)) => safe_output_change(o, n),
        (Ty::NonNull(_), _) => false,
        (Ty::Named(o), Ty::Named(n)) => o == n,
        (Ty::Named(_), Ty::NonNull(n)) => safe_output_change(old, n),
        (Ty::Named(_), Ty::List(_)) => false,
    }
}

/// graphql-js `isChangeSafeForInputObjectFieldOrFieldArg`: input positions may
/// become looser (nullable), never stricter.
pub fn safe_input_change(old: &Ty, new: &Ty) -> bool {
    match (old, new) {
        (Ty::List(o), Ty::List(n)) => safe_input_change(o, n),
        (Ty::List(_), _) => false,
        (Ty::NonNull(o), Ty::NonNull(n)) => safe_input_change(o, n),
        (Ty::NonNull(o), n) => safe_input_change(o, n),
        (Ty::Named(o), Ty::Named(n)) => o == n,
        (Ty::Named(_), _) => false,
    }
}

/// Every change from `old` to `new`, breaking first.
pub fn classify(old: &ApiSchema, new: &ApiSchema) -> Vec<Change> {
    let mut out = Vec::new();
    for (op, o, n) in [
        ("query", &old.query, &new.query),
        ("mutation", &old.mutation, &new.mutation),
        ("subscription", &old.subscription, &new.subscription),
    ] {
        if o.is_some() && o != n {
            out.push(change(
                ChangeKind::RootTypeChanged,
                format!("schema.{op}"),
                format!(
                    "the {op} root changed from {} to {}",
                    o.as_deref().unwrap_or("-"),
                    n.as_deref().unwrap_or("none")
                ),
            ));
        }
    }
    for (name, o) in &old.types {
        let Some(n) = new.types.get(name) else {
            out.push(change(
                ChangeKind::TypeRemoved,
                name.clone(),
                format!("{name} was removed"),
            ));
            continue;
        };
        if o.kind != n.kind {
            out.push(change(
                ChangeKind::TypeChangedKind,
                name.clone(),
                format!(
                    "{name} changed from {} to {}",
                    o.kind.as_str(),
                    n.kind.as_str()
                ),
            ));
            continue;
        }
        match o.kind {
            Kind::Object | Kind::Interface => {
                diff_fields(name, &o.fields, &n.fields, &mut out);
                for i in o.interfaces.difference(&n.interfaces) {
                    out.push(change(
                        ChangeKind::ImplementedInterfaceRemoved,
                        name.clone(),
                        format!("{name} no longer implements {i}"),
                    ));
                }
                for i in n.interfaces.difference(&o.interfaces) {
                    out.push(change(
                        ChangeKind::ImplementedInterfaceAdded,
                        name.clone(),
                        format!("{name} now implements {i}"),
                    ));
                }
            }
            Kind::Union => {
                for m in o.members.difference(&n.members) {
                    out.push(change(
                        ChangeKind::TypeRemovedFromUnion,
                        name.clone(),
                        format!("{m} was removed from union {name}"),
                    ));
                }
                for m in n.members.difference(&o.members) {
                    out.push(change(
                        ChangeKind::TypeAddedToUnion,
                        name.clone(),
                        format!("{m} was added to union {name}"),
                    ));
                }
            }
            Kind::Enum => {
                for v in o.values.difference(&n.values) {
                    out.push(change(
                        ChangeKind::ValueRemovedFromEnum,
                        format!("{name}.{v}"),
                        format!("{v} was removed from enum {name}"),
                    ));
                }
                for v in n.values.difference(&o.values) {
                    out.push(change(
                        ChangeKind::ValueAddedToEnum,
                        format!("{name}.{v}"),
                        format!("{v} was added to enum {name}"),
                    ));
                }
            }
            Kind::InputObject => diff_inputs(name, &o.inputs, &n.inputs, &mut out),
            Kind::Scalar => {}
        }
    }
    for name in new.types.keys().filter(|n| !old.types.contains_key(*n)) {
        out.push(change(
            ChangeKind::TypeAdded,
            name.clone(),
            format!("{name} was added"),
        ));
    }
    for (name, o) in &old.directives {
        let coord = format!("@{name}");
        let Some(n) = new.directives.get(name) else {
            out.push(change(
                ChangeKind::DirectiveRemoved,
                coord,
                format!("@{name} was removed"),
            ));
            continue;
        };
        for a in o.args.keys().filter(|a| !n.args.contains_key(*a)) {
            out.push(change(
                ChangeKind::DirectiveArgRemoved,
                format!("@{name}({a}:)"),
                format!("argument {a} was removed from @{name}"),
            ));
        }
        for (a, arg) in n.args.iter().filter(|(a, _)| !o.args.contains_key(*a)) {
            if arg.ty.is_non_null() && arg.default.is_none() {
                out.push(change(
                    ChangeKind::RequiredDirectiveArgAdded,
                    format!("@{name}({a}:)"),
                    format!("required argument {a} was added to @{name}"),
                ));
            }
        }
        if o.repeatable && !n.repeatable {
            out.push(change(
                ChangeKind::DirectiveRepeatableRemoved,
                coord.clone(),
                format!("@{name} is no longer repeatable"),
            ));
        }
        for l in o.locations.difference(&n.locations) {
            out.push(change(
                ChangeKind::DirectiveLocationRemoved,
                coord.clone(),
                format!("@{name} can no longer be used on {l}"),
            ));
        }
    }
    for name in new
        .directives
        .keys()
        .filter(|n| !old.directives.contains_key(*n))
    {
        out.push(change(
            ChangeKind::DirectiveAdded,
            format!("@{name}"),
            format!("@{name} was added"),
        ));
    }
    out.sort_by(|a, b| {
        (a.severity, &a.coordinate, a.kind).cmp(&(b.severity, &b.coordinate, b.kind))
    });
    out
}

fn diff_fields(
    ty: &str,
    old: &BTreeMap<String, Field>,
    new: &BTreeMap<String, Field>,
    out: &mut Vec<Change>,
) {
    for (name, o) in old {
        let coord = format!("{ty}.{name}");
        let Some(n) = new.get(name) else {
            out.push(change(
                ChangeKind::FieldRemoved,
                coord.clone(),
                format!("{coord} was removed"),
            ));
            continue;
        };
        if o.ty != n.ty {
            if safe_output_change(&o.ty, &n.ty) {
                out.push(change(
                    ChangeKind::FieldTypeChangedSafely,
                    coord.clone(),
                    format!("{coord} changed type from {} to {}", o.ty, n.ty),
                ));
            } else {
                out.push(change(
                    ChangeKind::FieldChangedKind,
                    coord.clone(),
                    format!("{coord} changed type from {} to {}", o.ty, n.ty),
                ));
            }
        }
        for (arg, oa) in &o.args {
            let acoord = format!("{coord}({arg}:)");
            match n.args.get(arg) {
                None => out.push(change(
                    ChangeKind::ArgRemoved,
                    acoord.clone(),
                    format!("argument {arg} was removed from {coord}"),
                )),
                Some(na) => diff_input_value(
                    &acoord,
                    oa,
                    na,
                    ChangeKind::ArgChangedKind,
                    ChangeKind::ArgTypeChangedSafely,
                    out,
                ),
            }
        }
        for (arg, na) in n.args.iter().filter(|(a, _)| !o.args.contains_key(*a)) {
            let acoord = format!("{coord}({arg}:)");
            if na.ty.is_non_null() && na.default.is_none() {
                out.push(change(
                    ChangeKind::RequiredArgAdded,
                    acoord,
                    format!("required argument {arg} was added to {coord}"),
                ));
            } else {
                out.push(change(
                    ChangeKind::OptionalArgAdded,
                    acoord,
                    format!("optional argument {arg} was added to {coord}"),
                ));
            }
        }
    }
    for name in new.keys().filter(|n| !old.contains_key(*n)) {
        out.push(change(
            ChangeKind::FieldAdded,
            format!("{ty}.{name}"),
            format!("{ty}.{name} was added"),
        ));
    }
}

fn diff_inputs(
    ty: &str,
    old: &BTreeMap<String, InputValue>,
    new: &BTreeMap<String, InputValue>,
    out: &mut Vec<Change>,
) {
    for (name, o) in old {
        let coord = format!("{ty}.{name}");
        match new.get(name) {
            None => out.push(change(
                ChangeKind::FieldRemoved,
                coord.clone(),
                format!("input field {coord} was removed"),
            )),
            Some(n) => diff_input_value(
                &coord,
                o,
                n,
                ChangeKind::FieldChangedKind,
                ChangeKind::ArgTypeChangedSafely,
                out,
            ),
        }
    }
    for (name, n) in new.iter().filter(|(n, _)| !old.contains_key(*n)) {
        let coord = format!("{ty}.{name}");
        if n.ty.is_non_null() && n.default.is_none() {
            out.push(change(
                ChangeKind::RequiredInputFieldAdded,
                coord.clone(),
                format!("required input field {coord} was added"),
            ));
        } else {
            out.push(change(
                ChangeKind::OptionalInputFieldAdded,
                coord.clone(),
                format!("optional input field {coord} was added"),
            ));
        }
    }
}

fn diff_input_value(
    coord: &str,
    o: &InputValue,
    n: &InputValue,
    unsafe_kind: ChangeKind,
    safe_kind: ChangeKind,
    out: &mut Vec<Change>,
) {
    if o.ty != n.ty {
        let kind = if safe_input_change(&o.ty, &n.ty) {
            safe_kind
        } else {
            unsafe_kind
        };
        out.push(change(
            kind,
            coord.to_string(),
            format!("{coord} changed type from {} to {}", o.ty, n.ty),
        ));
    } else if o.default.is_some() && o.default != n.default {
        out.push(change(
            ChangeKind::ArgDefaultValueChange,
            coord.to_string(),
            format!(
                "{coord} default changed from {} to {}",
                o.default.as_deref().unwrap_or("none"),
                n.default.as_deref().unwrap_or("none")
            ),
        ));
    }
}
