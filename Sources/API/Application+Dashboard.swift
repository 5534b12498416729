import Foundation
import HTTPServer

extension Application {
    /// `GET /dashboard`, its script with the script's modules, and its style sheet: the page in `Resources/dashboard`, compiled
    /// into the binary. It loads nothing from elsewhere and polls the cohort endpoints with the
    /// analyst key the user pasted; the page itself needs no credentials, every data request it
    /// makes carries the key as a bearer header.
    func addDashboardRoute(to router: inout Router) {
        // The page is static but for the script nonce, which is new on every response: split once.
        let page = String(decoding: PackageResources.index_html, as: UTF8.self)
        let pieces = page.components(separatedBy: Self.dashboardNoncePlaceholder).map { Array($0.utf8) }
        router.get("/dashboard") { _ in
            let nonce = Self.makeNonce()
            var body: [UInt8] = []
            body.reserveCapacity(pieces.reduce(0) { $0 + $1.count } + nonce.utf8.count * (pieces.count - 1))
            for (index, piece) in pieces.enumerated() {
                if index > 0 { body += nonce.utf8 }
                body += piece
            }
            var response = HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", body: body)
            response.headers.set("Content-Security-Policy", Self.dashboardContentSecurityPolicy(nonce: nonce))
            response.headers.set("Cache-Control", "no-store")
            Self.addStaticHeaders(&response)
            return response
        }
        for (path, contentType, bytes) in [
            ("/dashboard/app.js", "text/javascript; charset=utf-8", PackageResources.app_js),
            ("/dashboard/style.css", "text/css; charset=utf-8", PackageResources.style_css),
        ] {
            router.get(path) { _ in
                var response = HTTPResponse(status: 200, contentType: contentType, body: bytes)
                // Revalidated on every load, so a new server version is picked up at once.
                response.headers.set("Cache-Control", "no-cache")
                Self.addStaticHeaders(&response)
                return response
            }
        }
        // The script's ES modules (imported by app.js; a module import carries the page's nonce).
        router.get("/dashboard/modules/{name}") { request in
            guard let bytes = Self.dashboardModules[request.pathParameters["name"] ?? ""] else {
                return ProblemDetails(
                    status: 404, title: "Not Found", detail: "No such dashboard module.", type: ProblemType.notFound
                ).response
            }
            var response = HTTPResponse(status: 200, contentType: "text/javascript; charset=utf-8", body: bytes)
            response.headers.set("Cache-Control", "no-cache")
            Self.addStaticHeaders(&response)
            return response
        }
    }

    /// The files of `Resources/dashboard/modules` by name: every one must be listed here and in Package.swift.
    public static let dashboardModules: [String: [UInt8]] = [
        "controls.js": PackageResources.controls_js, "dom.js": PackageResources.dom_js,
        "downloads.js": PackageResources.downloads_js, "format.js": PackageResources.format_js,
        "key.js": PackageResources.key_js, "plots.js": PackageResources.plots_js,
        "question.js": PackageResources.question_js, "requests.js": PackageResources.requests_js,
        "views.js": PackageResources.views_js, "vocabulary.js": PackageResources.vocabulary_js,
    ]

    private static func addStaticHeaders(_ response: inout HTTPResponse) {
        response.headers.set("X-Content-Type-Options", "nosniff")
        response.headers.set("Referrer-Policy", "no-referrer")
        response.headers.set("X-Frame-Options", "DENY")
    }

    /// Only the page's own nonce-tagged script runs: an event-handler attribute or a script that
    /// reached the document some other way (e.g. inside a plot) does not. Styles and data come from
    /// this origin only (inline style attributes stay allowed for the server's SVG plots).
    static func dashboardContentSecurityPolicy(nonce: String) -> String {
        "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
            + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    static let dashboardNoncePlaceholder = "{{CSP_NONCE}}"

    /// 128 random bits, base64 (CSP nonces must be unguessable and fresh per response).
    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<2 { withUnsafeBytes(of: generator.next() as UInt64) { bytes += $0 } }
        return Data(bytes).base64EncodedString()
    }
}
