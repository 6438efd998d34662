//! Decodes event bytes into JSON by walking the committed IDL, so the vectors' expected events
//! follow from the IDL and the program's real bytes, never from a hand-kept copy of the layouts.
//!
//! JSON conventions (the Go decoder renders the same): pubkeys as base58; `u8` arrays and
//! vectors as lowercase hex; integers up to 64 bits as numbers, 128-bit ones as strings; unit
//! enum variants as their name, variants with fields as `{"Variant": {fields}}`.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

/// The parsed IDL.
pub struct Idl {
    pub value: Value,
}

/// Path of the committed IDL.
pub fn idl_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../idl/upgrade_manager.json")
}

impl Idl {
    /// Loads `program/idl/upgrade_manager.json`.
    pub fn load() -> Self {
        let path = idl_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e} (run `make idl`)", path.display()));
        Idl {
            value: serde_json::from_str(&text).expect("IDL is JSON"),
        }
    }

    /// Name of the event whose discriminator is `disc`.
    pub fn event_name(&self, disc: &[u8]) -> Option<String> {
        self.value["events"].as_array()?.iter().find_map(|e| {
            let d: Vec<u8> = e["discriminator"]
                .as_array()?
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            (d == disc).then(|| e["name"].as_str().unwrap().to_string())
        })
    }

    fn type_def(&self, name: &str) -> Option<&Value> {
        self.value["types"]
            .as_array()?
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| &t["type"])
    }

    /// Decodes a defined type from `bytes`, which it must consume exactly.
    pub fn decode_defined(&self, name: &str, bytes: &[u8]) -> Result<Value, String> {
        let mut r = Reader { b: bytes, pos: 0 };
        let v = self.defined(name, &mut r)?;
        if r.pos != bytes.len() {
            return Err(format!(
                "{} trailing bytes after {name}",
                bytes.len() - r.pos
            ));
        }
        Ok(v)
    }

    fn defined(&self, name: &str, r: &mut Reader) -> Result<Value, String> {
        let def = self
            .type_def(name)
            .ok_or_else(|| format!("type {name} not in IDL"))?;
        match def["kind"].as_str() {
            Some("struct") => self.fields(&def["fields"], r),
            Some("enum") => {
                let tag = r.take(1)?[0] as usize;
                let variant = def["variants"]
                    .get(tag)
                    .ok_or_else(|| format!("{name}: no variant {tag}"))?;
                let vname = variant["name"].as_str().unwrap().to_string();
                if variant.get("fields").is_none() {
                    return Ok(Value::String(vname));
                }
                let mut m = Map::new();
                m.insert(vname, self.fields(&variant["fields"], r)?);
                Ok(Value::Object(m))
            }
            other => Err(format!("{name}: unsupported kind {other:?}")),
        }
    }

    fn fields(&self, fields: &Value, r: &mut Reader) -> Result<Value, String> {
        let Some(list) = fields.as_array() else {
            return Ok(Value::Object(Map::new()));
        };
        if list.first().is_some_and(|f| f.get("name").is_some()) {
            let mut m = Map::new();
            for f in list {
                m.insert(
                    f["name"].as_str().unwrap().into(),
                    self.value_of(&f["type"], r)?,
                );
            }
            Ok(Value::Object(m))
        } else {
            let mut v = Vec::new();
            for t in list {
                v.push(self.value_of(t, r)?);
            }
            Ok(Value::Array(v))
        }
    }

    fn value_of(&self, ty: &Value, r: &mut Reader) -> Result<Value, String> {
        if let Some(prim) = ty.as_str() {
            return match prim {
                "bool" => Ok(Value::Bool(r.take(1)?[0] != 0)),
                "u8" => Ok(json!(r.take(1)?[0])),
                "i8" => Ok(json!(r.take(1)?[0] as i8)),
                "u16" => Ok(json!(u16::from_le_bytes(r.arr()?))),
                "i16" => Ok(json!(i16::from_le_bytes(r.arr()?))),
                "u32" => Ok(json!(u32::from_le_bytes(r.arr()?))),
                "i32" => Ok(json!(i32::from_le_bytes(r.arr()?))),
                "u64" => Ok(json!(u64::from_le_bytes(r.arr()?))),
                "i64" => Ok(json!(i64::from_le_bytes(r.arr()?))),
                "u128" => Ok(json!(u128::from_le_bytes(r.arr()?).to_string())),
                "i128" => Ok(json!(i128::from_le_bytes(r.arr()?).to_string())),
                "pubkey" => Ok(json!(bs58::encode(r.take(32)?).into_string())),
                "string" => {
                    let n = u32::from_le_bytes(r.arr()?) as usize;
                    let s = std::str::from_utf8(r.take(n)?).map_err(|e| e.to_string())?;
                    Ok(json!(s))
                }
                "bytes" => {
                    let n = u32::from_le_bytes(r.arr()?) as usize;
                    Ok(json!(hex::encode(r.take(n)?)))
                }
                other => Err(format!("unsupported type {other}")),
            };
        }
        if let Some(inner) = ty.get("option") {
            return match r.take(1)?[0] {
                0 => Ok(Value::Null),
                1 => self.value_of(inner, r),
                t => Err(format!("bad option tag {t}")),
            };
        }
        if let Some(inner) = ty.get("vec") {
            let n = u32::from_le_bytes(r.arr()?) as usize;
            if inner == "u8" {
                return Ok(json!(hex::encode(r.take(n)?)));
            }
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(self.value_of(inner, r)?);
            }
            return Ok(Value::Array(v));
        }
        if let Some(arr) = ty.get("array") {
            let inner = &arr[0];
            let n = arr[1].as_u64().ok_or("array length is not a number")? as usize;
            if inner == "u8" {
                return Ok(json!(hex::encode(r.take(n)?)));
            }
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(self.value_of(inner, r)?);
            }
            return Ok(Value::Array(v));
        }
        if let Some(d) = ty.get("defined") {
            let name = d["name"].as_str().or(d.as_str()).ok_or("bad defined")?;
            return self.defined(name, r);
        }
        Err(format!("unsupported type {ty}"))
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self
            .b
            .get(self.pos..end)
            .ok_or_else(|| format!("need {n} bytes at {}, have {}", self.pos, self.b.len()))?;
        self.pos = end;
        Ok(s)
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().unwrap())
    }
}
