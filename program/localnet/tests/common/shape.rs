//! Golden shapes: a validator's answer (from the Solana RPC docs' examples, under
//! `tests/testdata/`) compared with the node's by structure, not by value, since keys, slots,
//! hashes and balances differ from run to run.
//!
//! - an object has exactly the golden object's keys, each of the golden value's shape;
//! - an array's every element has the shape of one of the golden array's elements (a golden
//!   array of instructions lists each kind it may hold: parsed, or `{programId, accounts, data}`);
//!   an empty golden array wants an empty array;
//! - a string, number, bool or null is of the same JSON type.

use std::path::PathBuf;

use serde_json::Value;

/// Loads `tests/testdata/<name>`.
pub fn golden(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata")
        .join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Panics with the first difference between the shape of `got` and that of the golden file
/// `name`.
pub fn assert_shape(name: &str, got: &Value) {
    if let Err(e) = shape_diff(&golden(name), got, "$") {
        panic!(
            "{name}: {e}\ngot: {}",
            serde_json::to_string_pretty(got).unwrap()
        );
    }
}

/// The first difference in shape, by JSON path.
pub fn shape_diff(want: &Value, got: &Value, path: &str) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let missing: Vec<&String> = w.keys().filter(|k| !g.contains_key(*k)).collect();
            let extra: Vec<&String> = g.keys().filter(|k| !w.contains_key(*k)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                return Err(format!(
                    "{path}: missing keys {missing:?}, extra keys {extra:?}"
                ));
            }
            for (k, wv) in w {
                shape_diff(wv, &g[k], &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.is_empty() && !g.is_empty() {
                return Err(format!(
                    "{path}: want an empty array, got {} elements",
                    g.len()
                ));
            }
            for (i, gv) in g.iter().enumerate() {
                let p = format!("{path}[{i}]");
                let errs: Vec<String> = w
                    .iter()
                    .filter_map(|wv| shape_diff(wv, gv, &p).err())
                    .collect();
                if errs.len() == w.len() {
                    return Err(errs.join("\n  or "));
                }
            }
            Ok(())
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => Ok(()),
        _ => Err(format!("{path}: want {}, got {}", kind(want), kind(got))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
