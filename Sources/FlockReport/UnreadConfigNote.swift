/// What a page says about a config or sweep file it could not decode (an old or
/// hand-edited one): the page still renders, with this note above what it shows instead.
enum UnreadConfigNote {
    /// The error's first line: Yams adds the text around the place, which the page shows
    /// whole anyway.
    static func reason(_ error: any Error) -> String {
        String("\(error)".prefix { $0 != "\n" })
    }

    /// `text` as a paragraph of the page.
    static func html(_ text: String) -> String {
        "<p class=\"message config-unread\">\(HTML.escape(text))</p>\n"
    }
}
