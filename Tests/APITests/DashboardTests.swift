import API
import Foundation
import HTTPServer
import Registry
import TestSupport
import Testing

/// The Debian `chromium` binary (CI installs it: Makefile TEST_PACKAGES, .ci/run).
let chromiumExecutable: String? = {
    for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
        return path
    }
    return nil
}()

/// Runs headless Chromium on a URL with a fresh profile; returns its standard output (the DOM for
/// `--dump-dom`). Stops it after `timeout` seconds.
func runChromium(_ url: String, _ extraArguments: [String], virtualMilliseconds: Int = 15000, timeout: TimeInterval = 120)
    throws -> String
{
    let executable = try #require(
        chromiumExecutable, "chromium is not installed: the dashboard test needs it (sudo apt-get install -y chromium)")
    let profile = TemporaryDirectory()
    defer { profile.remove() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-extensions", "--disable-background-networking", "--user-data-dir=" + profile.file("chromium"),
        "--virtual-time-budget=\(virtualMilliseconds)",
    ] + extraArguments + [url]
    let output = Pipe()
    process.standardOutput = output
    // Chromium is chatty on stderr: into a file, so that a full pipe cannot stall it.
    let errorPath = profile.file("stderr.txt")
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    try process.run()
    let watchdog = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watchdog.cancel()
    let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
    #expect(process.terminationStatus == 0, "chromium exited with \(process.terminationStatus): \(errors.suffix(2000))")
    return String(decoding: data, as: UTF8.self)
}

/// What the tests read off the dumped DOM.
struct DashboardDOM {
    let html: String

    /// The first capture group of a regular expression, or nil.
    func first(_ pattern: String, in text: String? = nil) -> String? {
        let text = text ?? html
        guard let expression = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]),
            let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[range])
    }

    var statusState: String? { first(#"<p id="status"[^>]*data-state="([^"]*)""#) }
    var statusText: String? { first(#"<p id="status"[^>]*>([^<]*)</p>"#) }
    var summaryBody: String? { first(#"<tbody id="summary-body">(.*?)</tbody>"#) }

    /// The text of one cell of the summary table: the row of a group, the column of a field.
    func cell(group: String, field: String) -> String? {
        guard let body = summaryBody,
            let row = first(#"<tr data-group=""# + NSRegularExpression.escapedPattern(for: group) + #""[^>]*>(.*?)</tr>"#, in: body)
        else { return nil }
        return first(#"<td data-field=""# + field + #""[^>]*>([^<]*)</td>"#, in: row)
    }

    /// The inside of one plot's container.
    func plot(_ name: String) -> String? { first(#"<div class="plot" id="plot-"# + name + #""[^>]*>(.*?)</div>"#) }

    var svgCount: Int { html.components(separatedBy: "<svg").count - 1 }
}

/// The service with the demo cohort (50 synthetic cases: 38 OD, 12 CNS) and an analyst key.
func dashboardService() throws -> (TestService, String) {
    let service = try TestService()
    let summary = try service.application.cases.importCases(
        DemoCohort.cases().map(ImportRecord.json), site: DemoCohort.site, mode: .upsert, dryRun: false, keyID: "test")
    #expect(summary.count(.created) == 50)
    let (_, bearer) = try service.key(site: "ANALYSTS", role: .analyst)
    return (service, String(bearer.dropFirst("Bearer ".count)))
}

/// How many 304 answers a route has given in this test process (from the service's metrics).
/// 304s counted for a route so far (the server's event loops hand their metrics over in batches:
/// flush them first, as `/metrics` does).
func notModifiedCount(route: String, in service: TestService) -> Int {
    service.server.flushRequestMetrics()
    var buffer: [UInt8] = []
    sharedMetrics.emit(into: &buffer)
    let text = String(decoding: buffer, as: UTF8.self)
    return text.split(separator: "\n").filter {
        $0.hasPrefix("http_requests_total{") && $0.contains(#"route="\#(route)""#) && $0.contains(#"status="304""#)
    }.reduce(0) { $0 + (Int(Double($1.split(separator: " ").last ?? "") ?? 0)) }
}


@Suite(.serialized) struct DashboardTests {
    @Test func thePageIsSelfContainedAndSentWithAStrictContentSecurityPolicy() throws {
        let service = try TestService()
        let router = service.application.makeRouter()
        let response = router.respond(to: HTTPRequest(method: .get, path: "/dashboard"))
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(response.headers["X-Content-Type-Options"] == "nosniff")
        #expect(response.headers["Referrer-Policy"] == "no-referrer")
        let policy = try #require(response.headers["Content-Security-Policy"])
        #expect(policy.contains("default-src 'none'"))
        #expect(policy.contains("connect-src 'self'"))
        #expect(!policy.contains("script-src 'unsafe-inline'"), "scripts are allowed by nonce, not wholesale")

        let html = String(decoding: response.body, as: UTF8.self)
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains(#"<html lang="en">"#))
        // The page, its script and its style sheet: all from this origin, nothing from elsewhere.
        let script = router.respond(to: HTTPRequest(method: .get, path: "/dashboard/app.js"))
        let style = router.respond(to: HTTPRequest(method: .get, path: "/dashboard/style.css"))
        #expect(script.status == 200 && script.headers["Content-Type"] == "text/javascript; charset=utf-8")
        #expect(style.status == 200 && style.headers["Content-Type"] == "text/css; charset=utf-8")
        #expect(script.headers["X-Content-Type-Options"] == "nosniff" && style.headers["X-Content-Type-Options"] == "nosniff")
        let javaScript = String(decoding: script.body, as: UTF8.self)
        #expect(javaScript.contains(#"from "./modules/"#) && javaScript.count > 1000)
        // The script's modules: each one served as JavaScript, and each one imported by another.
        var modules: [String] = []
        for name in Application.dashboardModules.keys.sorted() {
            let module = router.respond(to: HTTPRequest(method: .get, path: "/dashboard/modules/" + name))
            #expect(module.status == 200 && module.headers["Content-Type"] == "text/javascript; charset=utf-8", "\(name)")
            #expect(module.headers["X-Content-Type-Options"] == "nosniff", "\(name)")
            modules.append(String(decoding: module.body, as: UTF8.self))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/Sources/API/Resources/dashboard/modules")
        #expect(Set(files) == Set(Application.dashboardModules.keys), "every module file is served, and only those")
        for name in Application.dashboardModules.keys {
            let imported = ([javaScript] + modules).contains {
                $0.contains(#"from "./\#(name)""#) || $0.contains(#"from "./modules/\#(name)""#)
            }
            #expect(imported, "\(name) is imported")
        }
        let unknown = router.respond(to: HTTPRequest(method: .get, path: "/dashboard/modules/nope.js"))
        #expect(unknown.status == 404 && unknown.headers["Content-Type"] == "application/problem+json")
        let everything = [html, javaScript, String(decoding: style.body, as: UTF8.self)] + modules
        for text in everything {
            let lowered = text.lowercased()
            for reference in [#"src="http"#, #"href="http"#, "@import", "url(http", "url(//", #"src="//"#, #"href="//"#] {
                #expect(!lowered.contains(reference), "the page refers to something outside: \(reference)")
            }
            // The SVG namespace name is the one absolute URL, and it is a name: nothing fetches it.
            let withoutNamespace = lowered.replacingOccurrences(of: "\"http://www.w3.org/2000/svg\"", with: "")
            #expect(!withoutNamespace.contains("http://") && !withoutNamespace.contains("https://"), "no absolute URLs at all")
            #expect(!text.contains("innerHTML") && !text.contains("outerHTML") && !text.contains("insertAdjacentHTML"))
            #expect(!text.contains("eval(") && !text.contains("new Function"))
        }
        let lowered = html.lowercased()
        #expect(!lowered.contains("<img"))
        #expect(lowered.components(separatedBy: "<link").count == 2)
        #expect(html.contains(#"<link rel="stylesheet" href="/dashboard/style.css">"#))

        // The one script carries this response's nonce; the next response has another.
        let nonce = try #require(DashboardDOM(html: policy).first(#"'nonce-([A-Za-z0-9+/=]+)'"#))
        #expect(nonce.count >= 22)
        #expect(html.components(separatedBy: "<script").count == 2)
        #expect(html.contains(#"<script type="module" nonce="\#(nonce)" src="/dashboard/app.js"></script>"#))
        let again = router.respond(to: HTTPRequest(method: .get, path: "/dashboard"))
        #expect(again.headers["Content-Security-Policy"] != policy)
        #expect(!html.contains("{{CSP_NONCE}}"))

        // No credentials are needed for the page itself, over the socket too.
        let overSocket = try service.client.get("/dashboard")
        #expect(overSocket.status == 200)
        #expect(overSocket.header("content-security-policy")?.hasPrefix("default-src 'none'") == true)
    }

    @Test func withAnAnalystKeyTheBrowserShowsTheSummaryAndThePlots() throws {
        let (service, key) = try dashboardService()
        let url = "http://127.0.0.1:\(service.server.port)/dashboard#key=\(key)"
        let dom = DashboardDOM(html: try runChromium(url, ["--dump-dom"]))

        #expect(dom.statusState == "ok", "status: \(dom.statusText ?? "none")")
        #expect(dom.statusText?.hasPrefix("Up to date") == true)
        #expect(dom.statusText?.contains("refused") == false)
        #expect(dom.cell(group: "all", field: "n") == "50")
        #expect(dom.cell(group: "OD", field: "n") == "38")
        #expect(dom.cell(group: "CNS", field: "n") == "12")
        for group in ["all", "OD", "CNS"] {
            for field in ["deaths", "progressions", "median_age", "median_followup", "median_os"] {
                let value = dom.cell(group: group, field: field)
                #expect(value != nil && value != "–" && value != "", "\(group) \(field): \(value ?? "missing")")
            }
        }
        #expect(dom.first(#"<strong id="data-version">(\d+)</strong>"#) != nil, "the data version is shown")
        #expect(dom.first(#"<time id="last-refresh" datetime="([^"]+)""#) != nil, "the refresh time is shown")
        #expect(dom.first(#"<p id="logrank" class="meta">(Log-rank test across groups: χ² = [0-9.]+ on 1 df, p = [0-9.]+\.)</p>"#) != nil)
        #expect(!dom.html.contains(key), "the key is not left in the page")

        // The Kaplan-Meier plot, with its text alternative (medians per group) beside it.
        let km = try #require(dom.plot("km"), "Kaplan-Meier plot missing")
        #expect(km.hasPrefix("<svg"), "\(km.prefix(200))")
        #expect(km.contains(#"role="img""#) && km.contains(#"aria-describedby="km-table""#))
        #expect(km.contains("aria-label=\"Kaplan-Meier curves of overall survival by intracranial localization. Overall survival by localization\""))
        let medians = try #require(dom.first(#"<tbody id="km-body">(.*?)</tbody>"#))
        #expect(medians.contains(#"data-group="OD""#) && medians.contains(#"data-group="CNS""#))
        #expect(dom.first(#"<td data-field="median">([^<]*)</td>"#, in: medians)?.contains("(") == true)
        // The views the server offers are drawn; the others say why not.
        var svgs = 1
        for (name, route) in [("cox", "/v1/cohorts/cox.svg"), ("cif", "/v1/cohorts/incidence.svg")] {
            let plot = try #require(dom.plot(name), "\(name) view missing")
            if routeExists(service, route) {
                svgs += 1
                #expect(plot.hasPrefix("<svg"), "\(name): \(plot.prefix(200))")
            } else {
                #expect(plot.contains("Plot unavailable: this registry server does not offer it (HTTP 404)."), "\(name): \(plot)")
            }
        }
        #expect(dom.svgCount == svgs)
        // The Cox table comes from /v1/cohorts/cox (the grouping as covariate, OD the reference level by code-point order: CNS < OD).
        let cox = try #require(dom.first(#"<tbody id="cox-body">(.*?)</tbody>"#))
        #expect(cox.contains(#"data-term="localizationOD""#), "\(cox)")

        // A picture to look at: /tmp/dashboard.png.
        _ = try runChromium(url, ["--screenshot=/tmp/dashboard.png", "--window-size=1280,4000", "--hide-scrollbars"])
        let attributes = try FileManager.default.attributesOfItem(atPath: "/tmp/dashboard.png")
        #expect((attributes[.size] as? Int ?? 0) > 10_000)
    }

    @Test func pollingAsksWithIfNoneMatchAndKeepsWhatIsShownOn304() throws {
        let (service, key) = try dashboardService()
        let before = notModifiedCount(route: "/v1/cohorts/summary", in: service)
        // 45 s of virtual time: the first load, then the 30-second poll.
        let dom = DashboardDOM(
            html: try runChromium(
                "http://127.0.0.1:\(service.server.port)/dashboard#key=\(key)", ["--dump-dom"], virtualMilliseconds: 45000))
        #expect(dom.statusState == "ok")
        #expect(dom.statusText?.hasPrefix("Up to date: no change since ") == true, "status: \(dom.statusText ?? "none")")
        #expect(dom.cell(group: "all", field: "n") == "50")
        #expect(dom.cell(group: "CNS", field: "n") == "12")
        // Both summaries (overall and by localization) were answered 304 at the poll.
        #expect(notModifiedCount(route: "/v1/cohorts/summary", in: service) - before >= 2)
        #expect(dom.svgCount >= 1)
    }

    @Test func withAWrongKeyTheBrowserSaysSoAndShowsNoData() throws {
        let (service, _) = try dashboardService()
        let url = "http://127.0.0.1:\(service.server.port)/dashboard#key=icmm_not-a-key"
        let dom = DashboardDOM(html: try runChromium(url, ["--dump-dom"]))

        #expect(dom.statusState == "refused")
        #expect(dom.statusText == "The API key was refused (401). Paste a valid analyst key.")
        #expect(dom.summaryBody == "", "no data rows: \(dom.summaryBody ?? "no table")")
        #expect(dom.cell(group: "OD", field: "n") == nil)
        #expect(!dom.html.contains(">38<") && !dom.html.contains(">50<"))
        #expect(dom.svgCount == 0)
        #expect(dom.first(#"<strong id="data-version">([^<]*)</strong>"#) == "–")

        _ = try runChromium(url, ["--screenshot=/tmp/dashboard-refused.png", "--window-size=1280,900", "--hide-scrollbars"])
    }

    @Test func withoutAKeyThePageAsksForOne() throws {
        let service = try TestService()
        let dom = DashboardDOM(html: try runChromium("http://127.0.0.1:\(service.server.port)/dashboard", ["--dump-dom"]))
        #expect(dom.statusState == "needs-key")
        #expect(dom.statusText == "Paste an analyst API key to load the dashboard.")
        #expect(dom.summaryBody == "")
    }
}
