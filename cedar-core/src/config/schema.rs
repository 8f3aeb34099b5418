//! The element paths a section type reads, found by walking its `Deserialize` implementation
//! with a deserializer that answers every question with a placeholder and records the field
//! names each struct asks for. Used to check that the documentation names every element
//! (`cback.conf(5)`), for the standard sections and for each extension's own section.

use std::cell::RefCell;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// Every element path `T` reads, in declaration order, each as `<a><b>`. `root` is the path of
/// the element `T` is read from (`<postgresql>`; empty for the whole document).
pub fn element_paths<T: DeserializeOwned>(root: &str) -> Vec<String> {
    let found = RefCell::new(Vec::new());
    // A placeholder can fail a custom check in the type's own code; what was recorded up to
    // then is still the type's layout, so the error itself is not interesting here.
    let _ = T::deserialize(Walker {
        path: root.to_string(),
        found: &found,
    });
    found.into_inner()
}

#[derive(Debug)]
struct WalkError(String);

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WalkError {}

impl de::Error for WalkError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        WalkError(msg.to_string())
    }
}

struct Walker<'a> {
    path: String,
    found: &'a RefCell<Vec<String>>,
}

impl<'de> de::Deserializer<'de> for Walker<'_> {
    type Error = WalkError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_str("")
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_bool(false)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_i64(0)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_u64(0)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_f64(0.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_some(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_seq(OneItem { item: Some(self) })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        self.found
            .borrow_mut()
            .extend(fields.iter().map(|f| format!("{}<{f}>", self.path)));
        visitor.visit_map(Fields {
            walker: self,
            fields,
            next: 0,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        let first = variants.first().copied().unwrap_or_default();
        visitor.visit_enum(first.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u128 f32 char str string bytes byte_buf unit
        unit_struct newtype_struct tuple tuple_struct map identifier ignored_any
    }
}

struct OneItem<'a> {
    item: Option<Walker<'a>>,
}

impl<'de> de::SeqAccess<'de> for OneItem<'_> {
    type Error = WalkError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, WalkError> {
        self.item.take().map(|w| seed.deserialize(w)).transpose()
    }
}

struct Fields<'a> {
    walker: Walker<'a>,
    fields: &'static [&'static str],
    next: usize,
}

impl<'de> de::MapAccess<'de> for Fields<'_> {
    type Error = WalkError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, WalkError> {
        let Some(field) = self.fields.get(self.next) else {
            return Ok(None);
        };
        seed.deserialize(de::value::StrDeserializer::<WalkError>::new(field))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, WalkError> {
        let field = self.fields[self.next];
        self.next += 1;
        seed.deserialize(Walker {
            path: format!("{}<{field}>", self.walker.path),
            found: self.walker.found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn every_standard_element_is_found_with_its_path() {
        let paths = element_paths::<Config>("");
        for expected in [
            "<reference><author>",
            "<extensions><action><depends><run_before>",
            "<options><starting_day>",
            "<options><override><abs_path>",
            "<options><pre_action_hook><command>",
            "<peers><peer><managed_actions>",
            "<collect><dir><exclude><pattern>",
            "<collect><file><abs_path>",
            "<stage><peer><rcp_command>",
            "<store><blank_behavior><factor>",
            "<purge><dir><retain_days>",
        ] {
            assert!(
                paths.iter().any(|p| p == expected),
                "{expected}: {paths:#?}"
            );
        }
        let mut unique = paths.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), paths.len(), "{paths:#?}");
    }
}
