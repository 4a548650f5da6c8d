//! The framings other than the event stream: newline-delimited JSON (Ollama), the AWS
//! event stream (Bedrock) and a JSON array read element by element (Gemini).

pub mod aws_eventstream;
pub mod json_array;
pub mod ndjson;
