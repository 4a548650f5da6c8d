//! The framings other than the event stream: newline-delimited JSON (Ollama) and the AWS
//! event stream (Bedrock).

pub mod aws_eventstream;
pub mod ndjson;
