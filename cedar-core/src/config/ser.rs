//! A serde `Serializer` that turns a value into [`dom`](super::dom) elements, the inverse of
//! [`de`](super::de): a struct becomes an element with one child per field, a list becomes
//! repeated elements of the field's name, `None` is left out, and a plain value becomes the
//! element's text (booleans as `Y`/`N`).

use std::fmt;

use serde::ser::{self, Serialize};

use super::dom::{Element, Node};

#[derive(Debug)]
pub(crate) struct SerError(String);

impl fmt::Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

/// Serializes `value` as an element called `name`.
pub(crate) fn to_element<T: Serialize + ?Sized>(
    name: &str,
    value: &T,
) -> Result<Element, SerError> {
    let mut nodes = value.serialize(NodesSer { name })?;
    match nodes.len() {
        1 => Ok(nodes.remove(0)),
        0 => Ok(Element::new(name)),
        _ => Err(SerError(format!("<{name}> would be written several times"))),
    }
}

fn text_element(name: &str, text: String) -> Vec<Element> {
    let mut e = Element::new(name);
    e.children.push(Node::Text(text));
    vec![e]
}

/// Serializes one value as zero or more elements called `name`.
struct NodesSer<'n> {
    name: &'n str,
}

impl<'n> ser::Serializer for NodesSer<'n> {
    type Ok = Vec<Element>;
    type Error = SerError;
    type SerializeSeq = SeqSer<'n>;
    type SerializeTuple = SeqSer<'n>;
    type SerializeTupleStruct = SeqSer<'n>;
    type SerializeTupleVariant = ser::Impossible<Vec<Element>, SerError>;
    type SerializeMap = MapSer;
    type SerializeStruct = StructSer;
    type SerializeStructVariant = ser::Impossible<Vec<Element>, SerError>;

    fn serialize_bool(self, v: bool) -> Result<Vec<Element>, SerError> {
        Ok(text_element(
            self.name,
            if v { "Y" } else { "N" }.to_string(),
        ))
    }
    fn serialize_i8(self, v: i8) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_i16(self, v: i16) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_i32(self, v: i32) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_i64(self, v: i64) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_u8(self, v: u8) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_u16(self, v: u16) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_u32(self, v: u32) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_u64(self, v: u64) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_f32(self, v: f32) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_f64(self, v: f64) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_char(self, v: char) -> Result<Vec<Element>, SerError> {
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Vec<Element>, SerError> {
        if v.is_empty() {
            return Ok(vec![Element::new(self.name)]);
        }
        Ok(text_element(self.name, v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Vec<Element>, SerError> {
        self.serialize_str(&String::from_utf8_lossy(v))
    }
    fn serialize_none(self) -> Result<Vec<Element>, SerError> {
        Ok(Vec::new())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<Element>, SerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Vec<Element>, SerError> {
        Ok(vec![Element::new(self.name)])
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Vec<Element>, SerError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Vec<Element>, SerError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Vec<Element>, SerError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _value: &T,
    ) -> Result<Vec<Element>, SerError> {
        Err(SerError(format!(
            "<{}>: `{variant}` has data and cannot be written as text",
            self.name
        )))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqSer<'n>, SerError> {
        Ok(SeqSer {
            name: self.name,
            out: Vec::new(),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer<'n>, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqSer<'n>, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, SerError> {
        Err(SerError(format!(
            "<{}>: `{variant}` has data and cannot be written as text",
            self.name
        )))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer, SerError> {
        Ok(MapSer {
            element: Element::new(self.name),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<StructSer, SerError> {
        Ok(StructSer {
            element: Element::new(self.name),
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, SerError> {
        Err(SerError(format!(
            "<{}>: `{variant}` has data and cannot be written as text",
            self.name
        )))
    }
}

struct SeqSer<'n> {
    name: &'n str,
    out: Vec<Element>,
}

impl SeqSer<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.out
            .extend(value.serialize(NodesSer { name: self.name })?);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqSer<'_> {
    type Ok = Vec<Element>;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Vec<Element>, SerError> {
        Ok(self.out)
    }
}

impl ser::SerializeTuple for SeqSer<'_> {
    type Ok = Vec<Element>;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Vec<Element>, SerError> {
        Ok(self.out)
    }
}

impl ser::SerializeTupleStruct for SeqSer<'_> {
    type Ok = Vec<Element>;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Vec<Element>, SerError> {
        Ok(self.out)
    }
}

struct StructSer {
    element: Element,
}

impl ser::SerializeStruct for StructSer {
    type Ok = Vec<Element>;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerError> {
        let nodes = value.serialize(NodesSer { name: key })?;
        self.element
            .children
            .extend(nodes.into_iter().map(Node::Element));
        Ok(())
    }
    fn end(self) -> Result<Vec<Element>, SerError> {
        Ok(vec![self.element])
    }
}

struct MapSer {
    element: Element,
    key: Option<String>,
}

impl ser::SerializeMap for MapSer {
    type Ok = Vec<Element>;
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        let e = to_element("key", key)?;
        match e.first_text() {
            Some(k) if e.children.len() == 1 => {
                self.key = Some(k.to_string());
                Ok(())
            }
            _ => Err(SerError("map keys must be plain names".to_string())),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerError("map value without a key".to_string()))?;
        let nodes = value.serialize(NodesSer { name: &key })?;
        self.element
            .children
            .extend(nodes.into_iter().map(Node::Element));
        Ok(())
    }
    fn end(self) -> Result<Vec<Element>, SerError> {
        Ok(vec![self.element])
    }
}
