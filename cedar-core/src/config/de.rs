//! A serde `Deserializer` over the [`dom`](super::dom) tree that applies the original's reading
//! rules, so that the standard sections and every extension's own section are read alike.
//!
//! How a struct is read from an element:
//! - each field is looked up among the element's **direct children** by its (renamed) name;
//! - a single value (`String`, number, boolean, enumeration) is the first text node of the
//!   first matching child that has a text node; later matches are ignored, and a match without
//!   a text node (`<user/>`, `<user><!-- c --></user>`, CDATA only) does not count;
//! - a single complex value (a struct such as `<depends>`) is the first matching child, even an
//!   empty one;
//! - a `Vec` takes every matching child, skipping the ones without text when it holds plain
//!   values; an `Option<Vec<_>>` whose matches all lack text is `None`;
//! - unknown children are ignored, and so are duplicates.
//!
//! Values are not trimmed. Booleans are `Y`/`y`/`N`/`n`, integers and floats follow Python's
//! `int()` and `float()`. A bad value is reported with its element path and the value.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::dom::Element;
use super::values;
use crate::clip::clip;

/// A reading error: the element path, what is wrong, and the underlying cause if there is one.
#[derive(Debug)]
pub(crate) struct DeError {
    pub element: String,
    pub message: String,
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl DeError {
    fn new(message: impl Into<String>) -> DeError {
        DeError {
            element: String::new(),
            message: message.into(),
            source: None,
        }
    }

    /// Sets the element path, unless a deeper one is already known.
    fn at(mut self, path: &str) -> DeError {
        if self.element.is_empty() {
            self.element = path.to_string();
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.element.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.element, self.message)
        }
    }
}

impl std::error::Error for DeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(clip(&msg.to_string()).to_string())
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(format!(
            "`{}` is not one of {}",
            clip(variant),
            expected.join(", ")
        ))
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::new(format!("<{field}> is required; add it"))
    }
}

/// Element names that are containers: when such an element is empty it is still present.
/// Everything else without a text node counts as absent.
const COMPLEX_NAMES: &[&str] = &[
    "cb_config",
    "reference",
    "extensions",
    "action",
    "depends",
    "options",
    "override",
    "pre_action_hook",
    "post_action_hook",
    "peers",
    "peer",
    "collect",
    "exclude",
    "file",
    "dir",
    "stage",
    "store",
    "blank_behavior",
    "purge",
    // Sections and containers of the original's extensions.
    "postgresql",
    "mysql",
    "subversion",
    "repository",
    "repository_dir",
    "mbox",
    "encrypt",
    "split",
    "capacity",
    "amazons3",
    "sysinfo",
];

/// Names that always hold a plain value, even when an element of that name has children.
const SCALAR_NAMES: &[&str] = &[
    "author",
    "revision",
    "description",
    "generator",
    "order_mode",
    "name",
    "module",
    "function",
    "index",
    "run_before",
    "run_after",
    "starting_day",
    "working_dir",
    "backup_user",
    "backup_group",
    "rcp_command",
    "rsh_command",
    "cback_command",
    "managed_actions",
    "command",
    "abs_path",
    "rel_path",
    "pattern",
    "type",
    "collect_dir",
    "ignore_failures",
    "managed",
    "collect_mode",
    "mode",
    "archive_mode",
    "ignore_file",
    "link_depth",
    "dereference",
    "recursion_level",
    "staging_dir",
    "source_dir",
    "media_type",
    "device_type",
    "target_device",
    "target_scsi_id",
    "drive_speed",
    "check_data",
    "check_media",
    "warn_midnite",
    "no_eject",
    "factor",
    "refresh_media_delay",
    "eject_delay",
    "retain_days",
    "keep_last",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_yearly",
    "keep_within",
    "keep_min",
    "user",
    "password",
    "compress_mode",
    "all",
    "database",
];

/// Whether an element with no text node still counts as present.
fn is_container(e: &Element) -> bool {
    COMPLEX_NAMES.contains(&e.name.as_str())
        || (e.has_element_children() && !SCALAR_NAMES.contains(&e.name.as_str()))
}

/// Whether an element counts as present (as a value or as a container). `scalar` is set for
/// fields known to hold a plain value even though their name is also used for containers.
fn is_present(e: &Element, scalar: bool) -> bool {
    e.first_text().is_some() || (!scalar && is_container(e))
}

/// Fields whose element name is a container elsewhere, but which hold a plain value in this
/// struct: `<pre_action_hook><action>` (compare `<extensions><action>`).
const SCALAR_FIELDS: &[(&str, &str)] = &[("ActionHook", "action")];

/// Deserializes `T` from `element`, whose path is `path` (`<postgresql>`; empty for the root).
pub(crate) fn from_element<T: de::DeserializeOwned>(
    element: &Element,
    path: &str,
) -> Result<T, DeError> {
    T::deserialize(ElementDe {
        el: element,
        path: path.to_string(),
    })
    .map_err(|e| e.at(path))
}

/// One element, read as a struct or map (its children) or as a value (its first text node).
struct ElementDe<'a> {
    el: &'a Element,
    path: String,
}

impl<'a> ElementDe<'a> {
    fn text(&self) -> Result<TextDe<'a>, DeError> {
        match self.el.first_text() {
            Some(t) => Ok(TextDe {
                text: t,
                path: self.path.clone(),
            }),
            None => {
                Err(DeError::new("has no value; put the value between the tags").at(&self.path))
            }
        }
    }
}

macro_rules! forward_to_text {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                self.text()?.$method(visitor)
            }
        )*
    };
}

impl<'de, 'a> de::Deserializer<'de> for ElementDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.el.has_element_children() {
            self.deserialize_map(visitor)
        } else if let Some(t) = self.el.first_text() {
            visitor.visit_str(t)
        } else {
            visitor.visit_unit()
        }
    }

    forward_to_text! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_identifier
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.text()?.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(ElementsSeq {
            items: vec![self.el].into_iter(),
            path: self.path,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Every distinct child name once, in order of first appearance.
        let mut names: Vec<&'a str> = Vec::new();
        for child in self.el.elements() {
            if !names.contains(&child.name.as_str()) {
                names.push(child.name.as_str());
            }
        }
        visitor.visit_map(FieldsAccess {
            el: self.el,
            path: self.path,
            struct_name: "",
            fields: names.into_iter(),
            pending: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_map(FieldsAccess {
            el: self.el,
            path: self.path,
            struct_name: name,
            fields: fields.iter().copied(),
            pending: None,
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// The fields of a struct (or the child names of a map), each with its matching children.
struct FieldsAccess<'a, I> {
    el: &'a Element,
    path: String,
    struct_name: &'static str,
    fields: I,
    pending: Option<FieldDe<'a>>,
}

impl<'a, I: Iterator<Item = &'a str>> FieldsAccess<'a, I> {
    fn matches(&self, field: &'a str) -> (Vec<&'a Element>, String) {
        let named = |n: &str| -> Vec<&'a Element> { self.el.children_named_owned(n) };
        // `<collect><file>` and `<collect><dir>`: the older spelling `<mode>` wins over
        // `<collect_mode>` whenever it has a value.
        if field == "collect_mode" && matches!(self.struct_name, "CollectFile" | "CollectDir") {
            let old = named("mode");
            if old.iter().any(|e| e.first_text().is_some()) {
                return (old, format!("{}<mode>", self.path));
            }
        }
        (named(field), format!("{}<{field}>", self.path))
    }
}

impl Element {
    fn children_named_owned<'a>(&'a self, name: &str) -> Vec<&'a Element> {
        self.elements().filter(|e| e.name == name).collect()
    }
}

/// The fields the original reads for a peer: everything for a remote peer, the common ones
/// for a local peer, and only the type for a peer of any other type (which is ignored).
fn peer_reads(peer: &Element, field: &str) -> bool {
    let peer_type = peer.children_named("type").find_map(|e| e.first_text());
    match peer_type {
        Some("remote") => true,
        Some("local") => matches!(field, "name" | "type" | "collect_dir" | "ignore_failures"),
        _ => matches!(field, "name" | "type"),
    }
}

impl<'de, 'a, I: Iterator<Item = &'a str>> de::MapAccess<'de> for FieldsAccess<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        while let Some(field) = self.fields.next() {
            if self.struct_name == "PeerConfig" && !peer_reads(self.el, field) {
                continue;
            }
            let (matches, path) = self.matches(field);
            let scalar = SCALAR_FIELDS.contains(&(self.struct_name, field));
            if !matches.iter().any(|e| is_present(e, scalar)) {
                continue;
            }
            self.pending = Some(FieldDe {
                matches,
                path: path.clone(),
                scalar,
            });
            let key: de::value::StrDeserializer<'_, DeError> = field.into_deserializer();
            return seed.deserialize(key).map(Some).map_err(|e| e.at(&path));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let field = self
            .pending
            .take()
            .ok_or_else(|| DeError::new("value asked before its key"))?;
        let path = field.path.clone();
        seed.deserialize(field).map_err(|e| e.at(&path))
    }
}

/// The children matching one field name.
struct FieldDe<'a> {
    matches: Vec<&'a Element>,
    path: String,
    scalar: bool,
}

impl<'a> FieldDe<'a> {
    /// The first match that has a text node: where a single plain value comes from.
    fn value(&self) -> Result<ElementDe<'a>, DeError> {
        self.matches
            .iter()
            .find(|e| e.first_text().is_some())
            .map(|e| ElementDe {
                el: e,
                path: self.path.clone(),
            })
            .ok_or_else(|| {
                DeError::new("has no value; put the value between the tags").at(&self.path)
            })
    }

    /// The first match: where a single complex value comes from.
    fn first(&self) -> ElementDe<'a> {
        ElementDe {
            el: self.matches[0],
            path: self.path.clone(),
        }
    }
}

macro_rules! forward_to_value {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                self.value()?.$method(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for FieldDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.matches.len() > 1 {
            self.deserialize_seq(visitor)
        } else if !self.scalar && is_container(self.matches[0]) {
            self.first().deserialize_any(visitor)
        } else {
            self.value()?.deserialize_any(visitor)
        }
    }

    forward_to_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_identifier
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.value()?.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // A key is only given for present fields.
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let scalar = self.scalar;
        let items: Vec<&Element> = self
            .matches
            .into_iter()
            .filter(|e| is_present(e, scalar))
            .collect();
        visitor.visit_seq(ElementsSeq {
            items: items.into_iter(),
            path: self.path,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.first().deserialize_map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.first().deserialize_struct(name, fields, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// Repeated elements, each read on its own.
struct ElementsSeq<'a> {
    items: std::vec::IntoIter<&'a Element>,
    path: String,
}

impl<'de> de::SeqAccess<'de> for ElementsSeq<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some(el) => {
                // A plain value of a list is the first text node of its own element.
                seed.deserialize(ElementDe {
                    el,
                    path: self.path.clone(),
                })
                .map(Some)
                .map_err(|e| e.at(&self.path))
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// A text value.
struct TextDe<'a> {
    text: &'a str,
    path: String,
}

impl TextDe<'_> {
    fn int(&self) -> Result<i64, DeError> {
        values::parse_int(self.text).ok_or_else(|| {
            let source = self.text.trim().parse::<i64>().err();
            DeError {
                element: self.path.clone(),
                message: format!(
                    "`{}` is not an integer; write a whole number such as 7",
                    clip(self.text)
                ),
                source: source.map(|e| Box::new(e) as _),
            }
        })
    }

    fn float(&self) -> Result<f64, DeError> {
        values::parse_float(self.text).ok_or_else(|| {
            let source = self.text.trim().parse::<f64>().err();
            DeError {
                element: self.path.clone(),
                message: format!("`{}` is not a number", clip(self.text)),
                source: source.map(|e| Box::new(e) as _),
            }
        })
    }

    fn out_of_range(&self) -> DeError {
        DeError::new(format!("`{}` is out of range", clip(self.text))).at(&self.path)
    }
}

macro_rules! int_method {
    ($($method:ident $visit:ident $ty:ty;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                let v = self.int()?;
                let v = <$ty>::try_from(v).map_err(|_| self.out_of_range())?;
                visitor.$visit(v)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for TextDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match values::parse_bool(self.text) {
            Some(b) => visitor.visit_bool(b),
            None => Err(DeError::new(format!(
                "`{}` is not a boolean; use Y or N",
                clip(self.text)
            ))
            .at(&self.path)),
        }
    }

    int_method! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_i128(i128::from(self.int()?))
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let v = u128::try_from(self.int()?).map_err(|_| self.out_of_range())?;
        visitor.visit_u128(v)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_f32(self.float()? as f32)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_f64(self.float()?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_string(self.text.to_string())
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bytes(self.text.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_byte_buf(self.text.as_bytes().to_vec())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError::new("expected a list, found a single value").at(&self.path))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let _ = len;
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError::new("expected nested elements, found a single value").at(&self.path))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        visitor.visit_enum(self).map_err(|e| e.at(&path))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.text)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

impl<'de> de::EnumAccess<'de> for TextDe<'_> {
    type Error = DeError;
    type Variant = UnitOnly;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitOnly), DeError> {
        let name: de::value::StrDeserializer<'_, DeError> = self.text.into_deserializer();
        let v = seed.deserialize(name)?;
        Ok((v, UnitOnly))
    }
}

/// Enumerations written as text can only have unit variants.
pub(crate) struct UnitOnly;

impl<'de> de::VariantAccess<'de> for UnitOnly {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(DeError::new(
            "only plain enumeration values can be written as text",
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError::new(
            "only plain enumeration values can be written as text",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(DeError::new(
            "only plain enumeration values can be written as text",
        ))
    }
}
