//! deb822 paragraphs: a borrowing, streaming reader and an ordered writer.
