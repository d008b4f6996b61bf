//! Temporary stand-in (JSON only) until the YAML reader lands; replaced on merge.
#![allow(missing_docs, dead_code)]

use ballast_gotemplate::Value;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(pub String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValuesError {
    #[error("cannot unmarshal yaml document: {0}")]
    Unmarshal(YamlError),
}

pub fn parse_document(src: &str) -> Result<Value, YamlError> {
    if src.trim().is_empty() {
        return Ok(Value::Nil);
    }
    let j: serde_json::Value =
        serde_json::from_str(src).map_err(|e| YamlError(format!("error converting YAML to JSON: {e}")))?;
    Ok(crate::values::strvals::json_to_value(&j))
}

pub fn parse_document_raw(src: &str) -> Result<Value, YamlError> {
    parse_document(src)
}

pub fn parse_values(src: &str) -> Result<Value, ValuesError> {
    match parse_document(src).map_err(ValuesError::Unmarshal)? {
        Value::Nil => Ok(Value::empty_map()),
        v @ Value::Map(_) => Ok(v),
        _ => Err(ValuesError::Unmarshal(YamlError("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}".into()))),
    }
}

pub fn to_yaml(v: &Value) -> Result<String, String> {
    Ok(format!("{v}\n"))
}
