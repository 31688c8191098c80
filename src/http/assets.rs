//! The page's files, compiled into the binary: a fixed table looked up by
//! exact path, so nothing outside it can ever be served.

/// One embedded file.
pub(crate) struct Asset {
    pub(crate) body: &'static [u8],
    pub(crate) content_type: &'static str,
    pub(crate) cache: &'static str,
    /// Served without a session (what the login page needs).
    pub(crate) public: bool,
}

const PAGE: Asset = Asset {
    body: include_bytes!("assets/index.html"),
    content_type: "text/html; charset=utf-8",
    cache: "no-store",
    public: false,
};

const LOGIN: Asset = Asset {
    body: include_bytes!("assets/login.html"),
    content_type: "text/html; charset=utf-8",
    cache: "no-store",
    public: true,
};

static FILES: &[(&str, Asset)] = &[
    (
        "/assets/app.js",
        Asset {
            body: include_bytes!("assets/app.js"),
            content_type: "text/javascript; charset=utf-8",
            cache: "no-cache",
            public: false,
        },
    ),
    (
        "/assets/app.css",
        Asset {
            body: include_bytes!("assets/app.css"),
            content_type: "text/css; charset=utf-8",
            cache: "no-cache",
            public: true,
        },
    ),
    (
        "/assets/cytoscape.min.js",
        Asset {
            body: include_bytes!("assets/vendor/cytoscape.min.js"),
            content_type: "text/javascript; charset=utf-8",
            cache: "public, max-age=86400",
            public: false,
        },
    ),
    (
        "/assets/cytoscape.LICENSE.txt",
        Asset {
            body: include_bytes!("assets/vendor/cytoscape.LICENSE"),
            content_type: "text/plain; charset=utf-8",
            cache: "public, max-age=86400",
            public: true,
        },
    ),
];

/// The file at `path`: `/` and `/party/ID` are the page; the rest are the
/// table's exact paths.
pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    if path == "/" || path == "/index.html" {
        return Some(&PAGE);
    }
    if let Some(id) = path.strip_prefix("/party/") {
        if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
            return Some(&PAGE);
        }
    }
    FILES.iter().find(|(p, _)| *p == path).map(|(_, a)| a)
}

/// The login page.
pub(crate) fn login() -> &'static Asset {
    &LOGIN
}
