//! Checks on text people type: names, titles, descriptions.

use echostream_ports::Error;

/// `value` trimmed, within `max` characters, without control characters (new lines
/// allowed where `multiline`), not blank.
pub fn text(field: &str, value: &str, max: usize, multiline: bool) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::bad_input(format!(
            "{field} cannot be blank (send null to clear it)"
        )));
    }
    if value.chars().count() > max {
        return Err(Error::bad_input(format!(
            "{field} is at most {max} characters"
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        return Err(Error::bad_input(format!(
            "{field} cannot hold control characters"
        )));
    }
    Ok(value.to_string())
}
