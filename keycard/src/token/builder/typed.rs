//! Claims structs as JSON members: a struct given to `claims` or `sign_claims` is serialized
//! field by field, once, into [`Typed`] (each `"name":value` with where it lies, and whether a
//! registered claim has the wrong type), so that the payload writer copies members instead of
//! going through a `serde_json::Value`. [`TypedWriter`] is the serializer; a [`FieldSink`]
//! decides where each field goes ([`Typed`] here, or straight into the payload for the direct
//! path of `writer`).

use std::fmt;
use std::ops::Range;

use serde::ser::{self, Impossible, Serialize, SerializeStruct};
use serde_json::Value;

use crate::token::registered::{ClaimType, Name};

/// The bytes first reserved for the JSON of claims structs, and the members.
const TYPED_CAPACITY: usize = 512;
const TYPED_MEMBERS: usize = 16;

/// The members of claims structs, written to JSON when `claims` is called.
#[derive(Debug, Clone, Default)]
pub(super) struct Typed {
    /// `"name":value` of every member, one after the other.
    pub(super) json: Vec<u8>,
    pub(super) members: Vec<TypedMember>,
    /// A bit per (length, first, last byte) of the names written ([`name_bit`]), and whether a
    /// bit was set twice: only then can a name be repeated, and [`last_wins`](Typed::last_wins)
    /// compares names. A removed member leaves its bit, which only makes that check run.
    seen: u64,
    alike: bool,
}

thread_local! {
    /// The buffers of the last [`Typed`] dropped on this thread, for the next `claims`: a builder
    /// made, filled from a struct, signed and dropped per token allocates only the token.
    static SPARE: std::cell::RefCell<Option<(Vec<u8>, Vec<TypedMember>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Buffers grown past this are freed rather than kept for the thread.
const MAX_SPARE: usize = 16 * 1024;

impl Drop for Typed {
    fn drop(&mut self) {
        if self.json.capacity() == 0
            || self.json.capacity() > MAX_SPARE
            || self.members.capacity() > MAX_SPARE / 32
        {
            return;
        }
        let (mut json, mut members) = (
            std::mem::take(&mut self.json),
            std::mem::take(&mut self.members),
        );
        json.clear();
        members.clear();
        // During thread teardown the slot may be gone: the buffers are then simply freed.
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                spare.get_or_insert((json, members));
            }
        });
    }
}

#[derive(Debug, Clone)]
pub(super) struct TypedMember {
    /// The field's serialized name.
    pub(super) name: &'static str,
    /// Where its `"name":value` is in `Typed::json`.
    pub(super) json: Range<usize>,
    /// A registered claim (RFC 7519 §4.1) of the wrong type: `sign` refuses it unless a
    /// dedicated setter replaces it.
    pub(super) wrong_type: bool,
    /// The registered claim it is, if it is one (`exp`, `nbf` and `iat` are replaced by the
    /// dedicated setters).
    pub(super) registered: Option<Name>,
}

impl Typed {
    /// An empty `Typed` with room for an ordinary claims struct: the buffers the thread's last
    /// dropped one left ([`SPARE`]), or new ones.
    pub(super) fn with_room() -> Typed {
        let spare = SPARE
            .try_with(|spare| spare.try_borrow_mut().ok()?.take())
            .ok()
            .flatten();
        let (json, members) = spare.unwrap_or_else(|| {
            (
                Vec::with_capacity(TYPED_CAPACITY),
                Vec::with_capacity(TYPED_MEMBERS),
            )
        });
        Typed {
            json,
            members,
            seen: 0,
            alike: false,
        }
    }

    /// Whether a member is the registered claim `name`.
    pub(super) fn has(&self, name: Name) -> bool {
        self.members.iter().any(|m| m.registered == Some(name))
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.members.iter().any(|m| m.name == name)
    }

    pub(super) fn remove(&mut self, name: &str) {
        if !self.members.is_empty() {
            self.members.retain(|m| m.name != name);
        }
    }

    /// Removes the member `name` and returns its value.
    pub(super) fn take_value(&mut self, name: &str) -> Option<Value> {
        let i = self.members.iter().position(|m| m.name == name)?;
        let member = self.members.remove(i);
        let json = self.json.get(member.json)?;
        // Past `"name":`, the value as written by serde_json.
        let value = json.get(name_len(name)?..)?;
        serde_json::from_slice(value).ok()
    }

    /// Drops the members named again later (from `start` on): the last value set wins.
    pub(super) fn last_wins(&mut self, start: usize) {
        // Names told apart by length, first and last byte need no comparison: the full check
        // runs only when a bit was set twice while writing (two names alike in both).
        if !self.alike {
            return;
        }
        let mut dropped = false;
        for i in start..self.members.len() {
            let name = self.members[i].name;
            if let Some(earlier) = self.members[..i]
                .iter()
                .position(|m| same_name(m.name, name))
            {
                self.members[earlier].name = "";
                dropped = true;
            }
        }
        if dropped {
            self.members.retain(|m| !m.name.is_empty());
        }
        // The names left are all different: start the bits afresh from them.
        self.seen = 0;
        self.alike = false;
        for i in 0..self.members.len() {
            self.note(self.members[i].name);
        }
    }

    /// Sets the bit of `name`, noting when it was set already.
    fn note(&mut self, name: &str) {
        let bit = name_bit(name);
        self.alike |= self.seen & bit != 0;
        self.seen |= bit;
    }

    pub(super) fn truncate(&mut self, members: usize) {
        self.members.truncate(members);
        let end = self.members.last().map_or(0, |m| m.json.end);
        self.json.truncate(end);
    }
}

/// A bit for a name's length, first and last byte: different bits, different names.
pub(super) fn name_bit(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let key = bytes.len() * 5
        + 3 * usize::from(bytes.first().copied().unwrap_or(0))
        + usize::from(bytes.last().copied().unwrap_or(0));
    1u64 << (key % 64)
}

/// `a == b`, deciding most pairs of claim names (`iss`, `sub`, `aud`, ...) on their length and
/// first byte.
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// The length of `"name":` as serde_json writes it.
fn name_len(name: &str) -> Option<usize> {
    serde_json::to_vec(name).ok().map(|quoted| quoted.len() + 1)
}

/// Why a value was not written as a claims struct.
pub(super) enum TypedError {
    /// Not a struct: the caller goes through a `Value` instead.
    NotAStruct,
    Json(serde_json::Error),
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedError::NotAStruct => f.write_str("not a struct"),
            TypedError::Json(e) => e.fmt(f),
        }
    }
}

impl fmt::Debug for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for TypedError {}

impl ser::Error for TypedError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TypedError::Json(ser::Error::custom(msg))
    }
}

/// Serializes a claims struct into [`Typed`]: each field as `"name":value`, by serde_json,
/// with the registered claims' types checked against the table the validator reads them by.
/// Anything but a struct is [`TypedError::NotAStruct`].
pub(super) struct TypedWriter<K> {
    pub(super) sink: K,
}

/// Where [`TypedWriter`] puts each field of the struct.
pub(super) trait FieldSink {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TypedError>;
}

impl<K: FieldSink> ser::Serializer for TypedWriter<K> {
    type Ok = ();
    type Error = TypedError;
    type SerializeSeq = Impossible<(), TypedError>;
    type SerializeTuple = Impossible<(), TypedError>;
    type SerializeTupleStruct = Impossible<(), TypedError>;
    type SerializeTupleVariant = Impossible<(), TypedError>;
    type SerializeMap = Impossible<(), TypedError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), TypedError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, TypedError> {
        Ok(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), TypedError> {
        value.serialize(self)
    }

    fn serialize_bool(self, _: bool) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_i8(self, _: i8) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_i16(self, _: i16) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_i32(self, _: i32) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_i64(self, _: i64) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_u8(self, _: u8) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_u16(self, _: u16) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_u32(self, _: u32) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_u64(self, _: u64) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_f32(self, _: f32) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_f64(self, _: f64) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_char(self, _: char) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_str(self, _: &str) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_none(self) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_unit(self) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, TypedError> {
        Err(TypedError::NotAStruct)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, TypedError> {
        Err(TypedError::NotAStruct)
    }
}

impl<K: FieldSink> SerializeStruct for TypedWriter<K> {
    type Ok = ();
    type Error = TypedError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TypedError> {
        self.sink.field(name, value)
    }

    fn end(self) -> Result<(), TypedError> {
        Ok(())
    }
}

/// Writes `"name":value` to `json` and returns where the value starts.
pub(super) fn write_member<T: Serialize + ?Sized>(
    json: &mut Vec<u8>,
    name: &'static str,
    value: &T,
) -> Result<usize, TypedError> {
    // serde_json escapes control characters, `"` and `\\` only. One test per byte and no early
    // exit: a name is a few bytes, and a loop that stops at a different byte for every name
    // mispredicts its exit each time.
    let plain = name.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        // Nothing to escape: what serde_json would write, without its scan.
        json.push(b'"');
        json.extend_from_slice(name.as_bytes());
        json.push(b'"');
    } else {
        serde_json::to_writer(&mut *json, name).map_err(TypedError::Json)?;
    }
    json.push(b':');
    let value_start = json.len();
    serde_json::to_writer(&mut *json, value)
        .map_err(|e| TypedError::Json(ser::Error::custom(format_args!("claim `{name}`: {e}"))))?;
    Ok(value_start)
}

/// Whether the value written from `value_start` on has the type of the registered claim `ty`.
pub(super) fn wrong_type_at(json: &[u8], value_start: usize, ty: Option<ClaimType>) -> bool {
    ty.is_some_and(|ty| {
        !json
            .get(value_start..)
            .is_some_and(|value| ty.admits_json(value))
    })
}

impl FieldSink for &mut Typed {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TypedError> {
        // Every member after a comma, so that members in a row copy as one slice.
        self.json.push(b',');
        let start = self.json.len();
        let value_start = write_member(&mut self.json, name, value)?;
        let registered = Name::of(name);
        let wrong_type = wrong_type_at(&self.json, value_start, registered.map(Name::claim_type));
        let end = self.json.len();
        self.members.push(TypedMember {
            name,
            json: start..end,
            wrong_type,
            registered,
        });
        self.note(name);
        Ok(())
    }
}
