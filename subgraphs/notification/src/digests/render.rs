//! A digest as mail: its subject, a text part and an HTML part saying the same, each
//! notification as the feed writes it (title and text), a link to open the app and
//! the one-click unsubscribe link. Pure, so it reads (and is tested) apart from
//! storage.

use html_escape::{encode_double_quoted_attribute, encode_text};

/// One line of a digest: a notification as the feed writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub title: String,
    pub text: String,
}

/// A digest, written.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The longest subject, in characters.
const SUBJECT_CHARS: usize = 120;

/// Writes the digest of `lines` (newest first) for `name`.
pub fn digest(name: &str, lines: &[Line], open_url: &str, unsubscribe_url: &str) -> Written {
    let subject = match lines {
        [one] => format!("{}: {}", one.title, one.text),
        _ => format!("{} new notifications on EchoStream", lines.len()),
    };
    let subject: String = subject.chars().take(SUBJECT_CHARS).collect();

    let mut text = format!("Hi {name},\n\nWhile you were away:\n\n");
    for line in lines {
        text.push_str(&format!("- {}: {}\n", line.title, line.text));
    }
    text.push_str(&format!(
        "\nOpen EchoStream: {open_url}\n\nYou get this because you were offline. \
         To stop these emails, open: {unsubscribe_url}\n"
    ));

    let items: String = lines
        .iter()
        .map(|line| {
            format!(
                "<li><strong>{}</strong>: {}</li>",
                encode_text(&line.title),
                encode_text(&line.text)
            )
        })
        .collect();
    let html = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">\
         <p>Hi {name},</p><p>While you were away:</p><ul>{items}</ul>\
         <p><a href=\"{open}\">Open EchoStream</a></p>\
         <p style=\"color:#666;font-size:small\">You get this because you were offline. \
         <a href=\"{unsubscribe}\">Unsubscribe</a></p></body></html>",
        name = encode_text(name),
        open = encode_double_quoted_attribute(open_url),
        unsubscribe = encode_double_quoted_attribute(unsubscribe_url),
    );
    Written {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(title: &str, text: &str) -> Line {
        Line {
            title: title.into(),
            text: text.into(),
        }
    }

    #[test]
    fn one_notification_is_its_own_subject() {
        let w = digest(
            "bob",
            &[line("ann", "3 new messages")],
            "http://x",
            "http://u",
        );
        assert_eq!(w.subject, "ann: 3 new messages");
        assert!(w.text.contains("- ann: 3 new messages"));
        assert!(w.text.contains("http://u"));
        assert!(w.html.contains("<strong>ann</strong>: 3 new messages"));
    }

    #[test]
    fn several_are_counted_and_what_people_wrote_is_escaped_in_html() {
        let lines = [
            line("ann", "<script>alert(1)</script>"),
            line("cat & dan", "mentioned you"),
        ];
        let w = digest("bob", &lines, "http://x", "http://u?a=1&b=2");
        assert_eq!(w.subject, "2 new notifications on EchoStream");
        assert!(!w.html.contains("<script>"), "{}", w.html);
        assert!(w.html.contains("&lt;script&gt;"));
        assert!(w.html.contains("cat &amp; dan"));
        assert!(w.html.contains("href=\"http://u?a=1&amp;b=2\""));
        // The text part is plain text: as written.
        assert!(w.text.contains("<script>alert(1)</script>"));
    }
}
