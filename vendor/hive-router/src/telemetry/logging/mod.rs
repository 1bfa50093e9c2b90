pub mod format_json;
pub mod format_text;
pub mod request_id;
pub mod summary;
pub mod targets;
pub mod utils;
