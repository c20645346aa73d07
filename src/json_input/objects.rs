//! A deserializer that reads every struct from a JSON object only.
//!
//! serde's derive lets a struct be read from a list of its field values in order, and
//! serde_json offers that for every struct: `{"Config": ["IAM_USER_NO_POLICIES_CHECK",
//! true]}` would be a Config rule with `AddIfMissing` set, without a key saying so.
//! [`ObjectsOnly`] wraps a deserializer and everything it hands out (maps, lists, enum
//! variants, options), and asks for a map wherever a struct is wanted, so a list there
//! is an "invalid type" error at the list's position, like any other wrong type. serde
//! itself leaves this to the data format (serde-rs/serde#1587); no crate does it.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// `D`, with structs read from objects only.
pub struct ObjectsOnly<D>(pub D);

/// What an error says was expected.
#[derive(Clone, Copy)]
enum Expecting {
    /// What the wrapped visitor says.
    Inner,
    /// A struct: "an object" (not the Rust type name serde's derive gives).
    Object,
}

struct Wrap<V> {
    inner: V,
    expecting: Expecting,
}

fn wrap<V>(inner: V) -> Wrap<V> {
    Wrap {
        inner,
        expecting: Expecting::Inner,
    }
}

/// Forwards `deserialize_*` methods that take only a visitor.
macro_rules! forward {
    ($($method:ident)*) => { $(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(wrap(visitor))
        }
    )* };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, wrap(visitor))
    }

    /// The point of this type: a struct is asked for as a map.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap {
            inner: visitor,
            expecting: Expecting::Object,
        })
    }

    /// An enum is read from what JSON has for it: a string (a unit variant) or an object
    /// of one key (the variant) and its value, through serde's own
    /// `MapAccessDeserializer`. serde_json's `deserialize_enum` says only "expected
    /// value" for anything else; this names the variants, and refuses a second key.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(EnumShape { visitor, variants })
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

struct EnumShape<V> {
    visitor: V,
    variants: &'static [&'static str],
}

impl<'de, V: Visitor<'de>> Visitor<'de> for EnumShape<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&OneOf(self.variants), f)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        use serde::de::IntoDeserializer;
        self.visitor.visit_enum(v.into_deserializer())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        let value = self
            .visitor
            .visit_enum(de::value::MapAccessDeserializer::new(ObjectsOnly(&mut map)))?;
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format_args!(
                "a second key: this object must have exactly one key, {}",
                OneOf(self.variants)
            )));
        }
        Ok(value)
    }
}

/// "one of `A`, `B`".
struct OneOf(&'static [&'static str]);

impl fmt::Display for OneOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one of ")?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{v}`")?;
        }
        Ok(())
    }
}

/// Forwards `visit_*` methods of plain values.
macro_rules! visit {
    ($($method:ident($ty:ty))*) => { $(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.inner.$method(v)
        }
    )* };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expecting {
            Expecting::Inner => self.inner.expecting(f),
            Expecting::Object => f.write_str("an object"),
        }
    }

    visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(ObjectsOnly(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(ObjectsOnly(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(ObjectsOnly(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(ObjectsOnly(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(ObjectsOnly(data))
    }
}

/// A seed whose deserializer is wrapped.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(ObjectsOnly(d))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for ObjectsOnly<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for ObjectsOnly<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for ObjectsOnly<A> {
    type Error = A::Error;
    type Variant = ObjectsOnly<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(v, variant)| (v, ObjectsOnly(variant)))
    }
}

/// A struct variant's fields, read as a map (see [`ObjectsOnly::deserialize_struct`]).
struct StructVariant<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for StructVariant<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        ObjectsOnly(d).deserialize_struct("", &[], self.0)
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for ObjectsOnly<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.newtype_variant_seed(StructVariant(visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        name: String,
        #[serde(default)]
        on: bool,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        one: Inner,
        #[serde(default)]
        maybe: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
        #[serde(default)]
        tagged: Vec<Tagged>,
        #[serde(default)]
        any: serde_json::Value,
        #[serde(default)]
        pair: Option<(u8, String)>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    enum Tagged {
        New(Inner),
        Fields { name: String },
        Tuple(u8, u8),
        Unit,
    }

    fn read(text: &str) -> Result<Outer, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        Outer::deserialize(ObjectsOnly(&mut *de)).map_err(|e| e.to_string())
    }

    #[test]
    fn objects_are_read_as_usual() {
        let o = read(r#"{"one": {"name": "a", "on": true}, "maybe": {"name": "b"}, "list": [{"name": "c"}],
            "tagged": [{"New": {"name": "d"}}, {"Fields": {"name": "e"}}, {"Tuple": [1, 2]}, "Unit"],
            "any": [1, {"k": ["v"]}], "pair": [7, "x"]}"#)
        .unwrap();
        assert_eq!(
            o.one,
            Inner {
                name: "a".into(),
                on: true
            }
        );
        assert_eq!(o.maybe.unwrap().name, "b");
        assert_eq!(o.list[0].name, "c");
        assert_eq!(
            o.tagged,
            vec![
                Tagged::New(Inner {
                    name: "d".into(),
                    on: false
                }),
                Tagged::Fields { name: "e".into() },
                Tagged::Tuple(1, 2),
                Tagged::Unit
            ]
        );
        assert_eq!(o.any, serde_json::json!([1, {"k": ["v"]}]));
        assert_eq!(o.pair, Some((7, "x".into())));
    }

    /// A list where a struct belongs is refused at every depth (json_input's tests
    /// check the positions it reports).
    #[test]
    fn a_list_is_never_a_struct() {
        for text in [
            r#"["a"]"#,
            r#"{"one": ["a", true]}"#,
            r#"{"one": {"name": "a"}, "maybe": ["b"]}"#,
            r#"{"one": {"name": "a"}, "list": [["c"]]}"#,
            r#"{"one": {"name": "a"}, "tagged": [{"New": ["d"]}]}"#,
            r#"{"one": {"name": "a"}, "tagged": [{"Fields": ["e"]}]}"#,
        ] {
            let e = read(text).unwrap_err();
            // (A struct variant is described by serde: "expected struct variant …".)
            assert!(
                e.starts_with("invalid type: sequence, expected an object")
                    || e.starts_with("invalid type: sequence, expected struct variant"),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn wrong_types_name_what_is_valid() {
        let e = read(r#"{"one": {"name": "a"}, "tagged": [5]}"#).unwrap_err();
        assert!(
            e.starts_with(
                "invalid type: integer `5`, expected one of `New`, `Fields`, `Tuple`, `Unit`"
            ),
            "{e}"
        );
        let e =
            read(r#"{"one": {"name": "a"}, "tagged": [{"Unit": null, "New": {}}]}"#).unwrap_err();
        assert!(
            e.starts_with("a second key: this object must have exactly one key, one of `New`"),
            "{e}"
        );
        let e = read(r#"{"one": {"name": "a"}, "tagged": [{}]}"#).unwrap_err();
        assert!(e.starts_with("invalid type: map, expected enum"), "{e}");
        let e = read(r#"{"one": {"name": "a"}, "tagged": ["Nope"]}"#).unwrap_err();
        assert!(
            e.starts_with("unknown variant `Nope`, expected one of `New`"),
            "{e}"
        );
        let e = read(r#"{"one": 5}"#).unwrap_err();
        assert!(
            e.starts_with("invalid type: integer `5`, expected an object"),
            "{e}"
        );
        let e = read(r#"{"one": {"name": 5}}"#).unwrap_err();
        assert!(
            e.starts_with("invalid type: integer `5`, expected a string"),
            "{e}"
        );
    }
}
