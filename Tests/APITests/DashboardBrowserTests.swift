import API
import Foundation
import HTTPServer
import Logging
import Synchronization
import TestSupport
import Testing

/// Whether this build serves a route (the statistics routes land on main separately).
func routeExists(_ service: TestService, _ pattern: String) -> Bool {
    service.application.makeRouter().routeTable.contains { $0.pattern == pattern }
}

/// A server that serves the real dashboard page but answers every cohort request with one status
/// (429 with Retry-After, 403, ...), counting them: the page's behaviour under refusal, without
/// depending on the service's own rate limits.
final class RefusingServer {
    final class Counter: Sendable {
        let value = Mutex(0)
    }
    let server: HTTPServer
    private let counter = Counter()
    var requests: Int { counter.value.withLock { $0 } }
    static let cohortPaths = [
        "/v1/cohorts/summary", "/v1/cohorts/survival", "/v1/cohorts/survival.svg", "/v1/cohorts/cox", "/v1/cohorts/cox.svg",
        "/v1/cohorts/incidence", "/v1/cohorts/incidence.svg", "/v1/cohorts/dataset.csv",
    ]

    init(application: Application, status: Int, retryAfter: String? = nil) throws {
        let counter = self.counter
        let real = application.makeRouter()
        var router = Router()
        let modules = Application.dashboardModules.keys.map { "/dashboard/modules/" + $0 }
        for path in ["/dashboard", "/dashboard/app.js", "/dashboard/style.css"] + modules {
            router.get(path) { _ in real.respond(to: HTTPRequest(method: .get, path: path)) }
        }
        for path in Self.cohortPaths {
            router.get(path) { _ in
                counter.value.withLock { $0 += 1 }
                var response = HTTPResponse.text(
                    #"{"type":"about:blank","title":"Refused by the test server","status":\#(status)}"#, status: status,
                    contentType: "application/problem+json")
                if let retryAfter { response.headers.set("Retry-After", retryAfter) }
                return response
            }
        }
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 1
        var logger = Logger(label: "refusing")
        logger.logLevel = .critical
        server = HTTPServer(configuration: configuration, router: router, logger: logger)
        try server.start()
    }

    deinit { server.stop() }
}

/// The dashboard in a real headless Chromium driven over the DevTools protocol: controls, the
/// address, downloads, refusals and the keyboard. Screenshots go to /tmp/dashboard-*.png.
@Suite(.serialized) struct DashboardBrowserTests {
    static let loaded = "document.getElementById('status').dataset.state === 'ok'"
    static let kmTitle = "(document.querySelector('#plot-km svg title') || {}).textContent"

    /// The page with the demo cohort, loaded and up to date.
    func openDashboard(_ query: String = "", width: Int = 1280, height: Int = 1000) throws -> (ChromiumSession, TestService, String) {
        let (service, key) = try dashboardService()
        let browser = try ChromiumSession(width: width, height: height)
        try browser.open("http://127.0.0.1:\(service.server.port)/dashboard\(query)#key=\(key)")
        try browser.waitUntil(Self.loaded, what: "the first load")
        return (browser, service, key)
    }

    /// Sets a select or text control as a user would (value, then a change event).
    func set(_ browser: ChromiumSession, _ id: String, _ value: String) throws {
        try browser.evaluate(
            "(function(){var e=document.getElementById('\(id)'); e.value='\(value)'; e.dispatchEvent(new Event('change',{bubbles:true}));})()")
    }

    func tick(_ browser: ChromiumSession, _ id: String) throws {
        try browser.evaluate("document.getElementById('\(id)').click()")
    }

    func cell(_ browser: ChromiumSession, table: String, group: String, field: String) throws -> String? {
        try browser.string(
            "(function(){var c=document.querySelector('#\(table) tr[data-group=\"\(group)\"] [data-field=\"\(field)\"]'); return c ? c.textContent : null;})()"
        )
    }

    @Test func switchingEndpointFilterAndGroupChangesThePlots() throws {
        let (browser, service, _) = try openDashboard()
        defer { browser.close() }
        #expect(try browser.string(Self.kmTitle) == "Overall survival by localization")
        #expect(try cell(browser, table: "summary-table", group: "all", field: "n") == "50")
        #expect(try cell(browser, table: "km-table", group: "OD", field: "n") == "38")

        // Endpoint: the plot, its table and the summary's median column follow.
        try set(browser, "endpoint", "pfs")
        try browser.waitUntil("\(Self.kmTitle) === 'Progression-free survival by localization'", what: "the PFS plot")
        try browser.waitUntil(Self.loaded, what: "the PFS views")
        #expect(try browser.string("document.getElementById('median-header').textContent") == "Median progression-free survival, months (CI)")
        #expect(try browser.string("location.search") == "?endpoint=pfs")
        #expect(try browser.evaluate("document.querySelector('#origin option[value=mm_diagnosis]').disabled") as? Bool == true)

        // Group: the plot is drawn by therapy class, the tables list its levels.
        try set(browser, "group_by", "therapy_class")
        try browser.waitUntil("\(Self.kmTitle) === 'Progression-free survival by therapy class'", what: "the plot by therapy class")
        try browser.waitUntil(Self.loaded, what: "the views by therapy class")
        #expect(try cell(browser, table: "summary-table", group: "novel", field: "n") == "35")
        #expect(try cell(browser, table: "summary-table", group: "conventional", field: "n") == "15")
        #expect(try cell(browser, table: "km-table", group: "novel", field: "n") == "35")
        #expect(try cell(browser, table: "summary-table", group: "OD", field: "n") == nil)
        let legend = try browser.string("Array.from(document.querySelectorAll('#plot-km [data-group]')).map(e => e.dataset.group).join(',')")
        #expect(legend?.contains("novel") == true && legend?.contains("conventional") == true, "legend: \(legend ?? "none")")

        // Filter: ISS III only. Fewer patients, another curve.
        let before = try browser.string("document.querySelector('#plot-km svg').outerHTML.length.toString()")
        try tick(browser, "iss-3")
        try browser.waitUntil("location.search.indexOf('iss=3') >= 0", what: "the ISS filter in the address")
        try browser.waitUntil(
            "(document.querySelector('#summary-table tr[data-group=\"all\"] [data-field=\"n\"]') || {}).textContent === '22'",
            what: "the summary of ISS III patients")
        try browser.waitUntil(Self.loaded, what: "the filtered views")
        let after = try browser.string("document.querySelector('#plot-km svg').outerHTML.length.toString()")
        #expect(before != after, "the plot changed with the filter")
        let groupNs = try browser.string(
            "Array.from(document.querySelectorAll('#km-body tr')).map(r => r.dataset.group + '=' + r.querySelector('[data-field=n]').textContent).join(',')"
        )
        #expect(groupNs != nil && groupNs != "conventional=15,novel=35" && groupNs != "novel=35,conventional=15", "\(groupNs ?? "")")
        let selection = try browser.string("document.getElementById('selection-text').textContent") ?? ""
        #expect(selection.contains("ISS III") && selection.contains("by therapy class"), "\(selection)")

        // Every request the page made carried the view in its query, and none carried the key.
        let requested = try browser.string("performance.getEntriesByType('resource').map(e => e.name).join('\\n')") ?? ""
        #expect(requested.contains("group_by=therapy_class") && requested.contains("iss=3") && requested.contains("endpoint=pfs"))
        #expect(!requested.contains("icmm_"), "no key in any requested address")
        if routeExists(service, "/v1/cohorts/cox.svg") {
            #expect(try browser.evaluate("document.querySelector('#plot-cox svg') !== null") as? Bool == true)
        }
        try browser.screenshot("/tmp/dashboard-pfs-by-therapy-iss3.png")
    }

    @Test func theAddressRestoresAViewAndTheBackButtonTheOneBefore() throws {
        let query = "?endpoint=pfs&group_by=therapy_class&iss=1,2&conf_type=log-log&times=12,24&tau=24&asct=false"
        let (browser, service, key) = try openDashboard(query)
        defer { browser.close() }
        // The key left the address at once; the view stayed.
        #expect(try browser.string("location.hash") == "")
        #expect(try browser.string("location.href")?.contains(key) == false)
        #expect(try browser.string("location.search") == query)
        for (id, value) in [
            ("endpoint", "pfs"), ("group_by", "therapy_class"), ("conf_type", "log-log"), ("times", "12,24"), ("tau", "24"),
            ("asct", "false"), ("origin", "ic_diagnosis"),
        ] {
            #expect(try browser.string("document.getElementById('\(id)').value") == value, "control \(id)")
        }
        #expect(try browser.evaluate("document.getElementById('iss-1').checked && document.getElementById('iss-2').checked") as? Bool == true)
        #expect(try browser.evaluate("document.getElementById('iss-3').checked") as? Bool == false)
        #expect(try browser.string(Self.kmTitle) == "Progression-free survival by therapy class")
        let head = try browser.string("document.getElementById('km-head').textContent") ?? ""
        #expect(head.contains("Survival at 12 months") && head.contains("Survival at 24 months"), "\(head)")
        let requested = try browser.string("performance.getEntriesByType('resource').map(e => e.name).join('\\n')") ?? ""
        #expect(requested.contains("conf_type=log-log") && requested.contains("tau=24") && requested.contains("asct=false"))
        #expect(requested.contains("iss=1,2") && requested.contains("times=12,24"), "\(requested)")
        let rmst = try browser.string("document.getElementById('rmst-note').textContent") ?? ""
        #expect(rmst.hasPrefix("Restricted mean survival up to τ = 24 months"), "\(rmst)")

        // A change is a new history entry; Back restores the view before it.
        try set(browser, "group_by", "")
        try browser.waitUntil("location.search.indexOf('group_by=none') >= 0", what: "no grouping in the address")
        try browser.waitUntil("\(Self.kmTitle) === 'Progression-free survival'", what: "the ungrouped plot")
        try browser.evaluate("history.back()")
        try browser.waitUntil("\(Self.kmTitle) === 'Progression-free survival by therapy class'", what: "the view before, after Back")
        #expect(try browser.string("document.getElementById('group_by').value") == "therapy_class")

        // Malformed values in a shared address fall back to the defaults instead of failing.
        try browser.open("http://127.0.0.1:\(service.server.port)/dashboard?endpoint=nope&times=abc&group_by=x")
        try browser.waitUntil(Self.loaded, what: "the page with a malformed address")
        #expect(try browser.string("document.getElementById('endpoint').value") == "os")
        #expect(try browser.string("document.getElementById('times').value") == "")
        #expect(try browser.string("document.getElementById('group_by').value") == "localization")
    }

    @Test func downloadsAreFetchedWithTheKeyAndSavedWithTheirContentTypes() throws {
        let (browser, service, _) = try openDashboard("?group_by=therapy_class&tau=24")
        defer { browser.close() }
        // Record what the page hands to the browser's download machinery.
        try browser.evaluate(
            """
            (function(){ window.__saved = []; var original = URL.createObjectURL;
              URL.createObjectURL = function (blob) { var entry = { type: blob.type, size: blob.size };
                window.__saved.push(entry); blob.text().then(function (t) { entry.text = t.slice(0, 200); });
                return original.call(URL, blob); }; })()
            """)
        var expected: [(button: String, type: String, prefix: String)] = [
            ("#view-km [data-download=km-svg]", "image/svg+xml; charset=utf-8", "<svg"),
            ("#view-km [data-download=km-json]", "application/json", "{"),
            ("#view-km [data-download=dataset]", "text/csv; charset=utf-8", "time_days,time_months,status"),
            ("#view-summary [data-download=summary-json]", "application/json", "{"),
            ("#view-cox [data-download=cox-json]", "application/json", "{"),
        ]
        if routeExists(service, "/v1/cohorts/cox.svg") {
            expected.append(("#view-cox [data-download=cox-svg]", "image/svg+xml; charset=utf-8", "<svg"))
        }
        if routeExists(service, "/v1/cohorts/incidence.svg") {
            expected.append(("#view-cif [data-download=cif-svg]", "image/svg+xml; charset=utf-8", "<svg"))
            expected.append(("#view-cif [data-download=cif-json]", "application/json", "{"))
        }
        for (index, item) in expected.enumerated() {
            try browser.evaluate("document.querySelector('\(item.button)').click()")
            try browser.waitUntil("window.__saved.length === \(index + 1) && window.__saved[\(index)].text !== undefined", what: item.button)
            let type = try browser.string("window.__saved[\(index)].type")
            let text = try browser.string("window.__saved[\(index)].text") ?? ""
            #expect(type?.lowercased() == item.type, "\(item.button): \(type ?? "none")")
            #expect(text.hasPrefix(item.prefix), "\(item.button): \(text.prefix(80))")
            let status = try browser.string("document.getElementById('download-status').textContent") ?? ""
            #expect(status.hasPrefix("Downloaded "), "\(status)")
        }
        #expect(try browser.string("document.getElementById('download-status').textContent")?.contains("(application/json") == true)
        // The JSON behind the Kaplan-Meier view is the view's own question.
        #expect(try browser.string("window.__saved[1].text")?.contains("\"conf_level\"") == true)
        // A view the server does not offer says so instead of saving an error page.
        if !routeExists(service, "/v1/cohorts/cox.svg") {
            try browser.evaluate("document.querySelector('#view-cox [data-download=cox-svg]').click()")
            try browser.waitUntil(
                "document.getElementById('download-status').textContent.indexOf('Could not download') === 0", what: "the refusal")
            #expect(
                try browser.string("document.getElementById('download-status').textContent")
                    == "Could not download cox-forest-os-by-therapy_class.svg (HTTP 404: this registry server does not offer it).")
            #expect(try browser.evaluate("window.__saved.length") as? Int == expected.count)
        }
        let requested = try browser.string("performance.getEntriesByType('resource').map(e => e.name).join('\\n')") ?? ""
        #expect(requested.contains("/v1/cohorts/dataset.csv?group_by=therapy_class&endpoint=os&origin=ic_diagnosis"), "\(requested)")
        #expect(!requested.contains("icmm_"), "no key in any requested address")
    }

    @Test func a429SaysSoAndWaitsForRetryAfter() throws {
        let service = try TestService()
        let refusing = try RefusingServer(application: service.application, status: 429, retryAfter: "4")
        let browser = try ChromiumSession()
        defer { browser.close() }
        try browser.open("http://127.0.0.1:\(refusing.server.port)/dashboard#key=icmm_any")
        try browser.waitUntil("document.getElementById('status').dataset.state === 'limited'", what: "the 429 message")
        let text = try browser.string("document.getElementById('status').textContent") ?? ""
        #expect(text.hasPrefix("The registry is limiting requests (HTTP 429: too many requests). Retrying in 4 seconds"), "\(text)")
        #expect(try browser.string("localStorage.getItem('icmm.apiKey')") == "icmm_any", "a 429 does not forget the key")
        let firstRound = refusing.requests
        #expect(firstRound >= 1)
        // Nothing is asked again before Retry-After has passed; then it is.
        usleep(2_500_000)
        #expect(refusing.requests == firstRound, "no request before Retry-After")
        let deadline = Date().addingTimeInterval(15)
        while refusing.requests == firstRound && Date() < deadline { usleep(100_000) }
        #expect(refusing.requests > firstRound, "asked again after Retry-After")
        try browser.screenshot("/tmp/dashboard-429.png")
    }

    @Test func a403SaysTheKeyMayNotReadCohorts() throws {
        let service = try TestService()
        let refusing = try RefusingServer(application: service.application, status: 403)
        let browser = try ChromiumSession()
        defer { browser.close() }
        try browser.open("http://127.0.0.1:\(refusing.server.port)/dashboard#key=icmm_any")
        try browser.waitUntil("document.getElementById('status').dataset.state === 'refused'", what: "the 403 message")
        #expect(
            try browser.string("document.getElementById('status').textContent")
                == "The API key may not read cohort data (403). Paste an analyst key.")
        #expect(try browser.evaluate("document.querySelectorAll('svg').length") as? Int == 0)
    }

    @Test func keyboardAloneReachesEveryControlWithAVisibleFocus() throws {
        let (browser, service, _) = try openDashboard()
        defer { withExtendedLifetime(service) { browser.close() } }
        // Every control has a name a screen reader says.
        let unnamed = try browser.string(
            """
            Array.from(document.querySelectorAll('input, select, button')).filter(function (e) {
              if (e.type === 'hidden') return false;
              return !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim();
            }).map(function (e) { return e.id || e.outerHTML.slice(0, 60); }).join(',')
            """)
        #expect(unnamed == "", "controls without a label: \(unnamed ?? "")")

        let controls = "Array.from(document.querySelectorAll('a[href], input, select, button')).filter(e => !e.disabled && e.offsetParent !== null)"
        let total = try #require(try browser.evaluate("\(controls).length") as? Int)
        #expect(total > 40)
        try browser.evaluate("\(controls).forEach(function (e, i) { e.dataset.kb = String(i); }); document.activeElement.blur()")
        var reached: Set<String> = []
        var withoutRing: [String] = []
        for _ in 0..<(total + 10) {
            try browser.press("Tab")
            let info = try browser.string(
                """
                (function(){ var e = document.activeElement; if (!e || !e.dataset.kb) return ''; var s = getComputedStyle(e);
                  var ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
                  return e.dataset.kb + '|' + (ring ? 'ring' : 'none') + '|' + (e.id || e.dataset.download || e.textContent.trim()); })()
                """) ?? ""
            let parts = info.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            reached.insert(String(parts[0]))
            if parts[1] != "ring" { withoutRing.append(String(parts[2])) }
            if reached.count == total { break }
        }
        let missing = try browser.string(
            "\(controls).filter(e => !\(Array(reached)).map(String).includes(e.dataset.kb)).map(e => e.id || e.dataset.download || e.textContent.trim()).join(',')"
        )
        #expect(reached.count == total, "not reached by Tab: \(missing ?? "")")
        #expect(withoutRing.isEmpty, "focused without a visible ring: \(withoutRing)")

        // And operated from the keyboard: a select with the arrow keys, a checkbox with Space.
        try browser.evaluate("document.getElementById('endpoint').focus()")
        try browser.press("ArrowDown")
        try browser.waitUntil("location.search.indexOf('endpoint=pfs') >= 0", what: "PFS chosen with the arrow key")
        try browser.evaluate("document.getElementById('iss-2').focus()")
        try browser.press(" ")
        try browser.waitUntil("location.search.indexOf('iss=2') >= 0", what: "ISS II ticked with Space")
        do {
            try browser.waitUntil("\(Self.kmTitle) === 'Progression-free survival by localization'", what: "the PFS plot")
        } catch {
            let debug = try browser.string("document.getElementById('status').textContent + ' | ' + location.search + ' | ' + document.getElementById('plot-km').textContent.slice(0, 300)")
            Issue.record("\(error): \(debug ?? "") failed: \(browser.failedRequests)")
        }
        try browser.evaluate("document.getElementById('tau').focus()")
        try browser.type("36")
        try browser.press("Enter")
        try browser.waitUntil("location.search.indexOf('tau=36') >= 0", what: "τ typed and entered")
        try browser.evaluate("document.getElementById('iss-2').focus()")
        try browser.screenshot("/tmp/dashboard-keyboard.png")
    }

    /// The RMST, PH-test and incidence views show the server's own numbers where the server computes
    /// them, and say plainly that it does not where it does not (the statistics land separately).
    @Test func theStatisticsViewsShowWhatTheServerComputesOrSayItDoesNot() throws {
        let (browser, service, key) = try openDashboard("?group_by=therapy_class&tau=24&times=12,24")
        defer { withExtendedLifetime(service) { browser.close() } }
        let bearer = [("Authorization", "Bearer " + key)]
        func text(_ id: String) throws -> String { try browser.string("document.getElementById('\(id)').textContent") ?? "" }

        let survival = try service.client.get("/v1/cohorts/survival?group_by=therapy_class&tau=24", headers: bearer)
        #expect(survival.status == 200)
        if let first = survival.jsonValue?["rmst_differences"]?.arrayValue?.first, let difference = first["difference"]?.numberValue {
            try browser.waitUntil("document.querySelectorAll('#rmst-body tr[data-pair]').length >= 1", what: "the RMST differences")
            let pair = "\(first["a"]?.stringValue ?? "")|\(first["b"]?.stringValue ?? "")"
            let cell = try browser.string("document.querySelector('#rmst-body tr[data-pair=\"\(pair)\"] [data-field=difference]').textContent")
            #expect(cell?.hasPrefix(String(format: "%.2f (", difference)) == true, "\(cell ?? "none")")
        } else {
            #expect(try text("rmst-body") == "RMST differences unavailable: this registry server does not compute them yet.")
        }
        #expect(try text("rmst-note").hasPrefix("Restricted mean survival up to τ = 24 months: Conventional "))

        let cox = try service.client.get("/v1/cohorts/cox?covariates=therapy_class&ph_test=true", headers: bearer)
        if cox.status == 200 {
            try browser.waitUntil("document.querySelector('#ph-body tr[data-covariate=global]') !== null", what: "the PH test")
            #expect(try browser.evaluate("document.querySelector('#ph-body tr[data-covariate=therapy_class]') !== null") as? Bool == true)
        } else {
            #expect(cox.status == 400)
            #expect(
                try text("ph-body")
                    == "The proportional-hazards test is unavailable: this registry server does not compute it (ph_test).")
            // The model itself is still shown, from the same route without the test.
            #expect(try browser.evaluate("document.querySelector('#cox-body tr[data-term=therapy_classnovel]') !== null") as? Bool == true)
        }

        if routeExists(service, "/v1/cohorts/incidence") {
            try browser.waitUntil("document.querySelector('#cif-body tr[data-cause=progression]') !== null", what: "the incidence table")
            #expect(try text("cif-head").contains("Incidence at 12 months"))
        } else {
            #expect(try text("cif-body") == "Cumulative incidence unavailable: this registry server does not offer it (HTTP 404).")
        }
        try browser.screenshot("/tmp/dashboard-statistics.png")

        // Strata: the stratified model where the server fits one, its refusal where it does not.
        let stratified = try service.client.get("/v1/cohorts/cox?covariates=therapy_class&strata=sex", headers: bearer)
        try set(browser, "strata", "sex")
        try browser.waitUntil("location.search.indexOf('strata=sex') >= 0", what: "the strata in the address")
        if stratified.status == 200 {
            try browser.waitUntil("document.getElementById('cox-meta').textContent.indexOf('stratified by Sex') >= 0", what: "the stratified model")
            #expect(try browser.evaluate("document.querySelector('#cox-body tr[data-term=therapy_classnovel]') !== null") as? Bool == true)
        } else {
            try browser.waitUntil("document.getElementById('cox-body').textContent.indexOf('Cox model unavailable (HTTP 400: strata') === 0", what: "the refusal")
        }
    }

    @Test func aHiddenTabBacksOffAndAsksAtOnceWhenShownAgain() throws {
        let (service, key) = try dashboardService()
        let browser = try ChromiumSession()
        defer { withExtendedLifetime(service) { browser.close() } }
        // The delays the page asks of setTimeout, and a visibility the test can switch.
        try browser.addScriptOnNewDocument(
            """
            window.__delays = []; (function () { var original = window.setTimeout;
              window.setTimeout = function (f, d) { window.__delays.push(d || 0); return original.apply(window, arguments); };
              window.__visibility = 'visible';
              Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: function () { return window.__visibility; } });
              Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: function () { return window.__visibility === 'hidden'; } }); })();
            """)
        try browser.open("http://127.0.0.1:\(service.server.port)/dashboard#key=\(key)")
        try browser.waitUntil(Self.loaded, what: "the first load")
        try browser.waitUntil("window.__delays.indexOf(30000) >= 0", what: "the 30-second poll")
        let requestsBefore = try #require(try browser.evaluate("performance.getEntriesByType('resource').length") as? Int)

        // Counted by start time: a request of the first load may still be finishing (and only then
        // listed) when the tab is hidden; what matters is that hiding starts none.
        try browser.evaluate(
            "window.__hiddenAt = performance.now(); window.__visibility = 'hidden'; document.dispatchEvent(new Event('visibilitychange'))")
        try browser.waitUntil("window.__delays[window.__delays.length - 1] === 300000", what: "the 5-minute poll while hidden")
        #expect(
            try browser.evaluate(
                "performance.getEntriesByType('resource').filter(function (e) { return e.startTime >= window.__hiddenAt; }).length")
                as? Int == 0, "nothing asked on hiding")

        try browser.evaluate("window.__visibility = 'visible'; document.dispatchEvent(new Event('visibilitychange'))")
        try browser.waitUntil(
            "performance.getEntriesByType('resource').length > \(requestsBefore)", what: "a refresh as soon as the tab is visible")
        try browser.waitUntil(Self.loaded, what: "the refresh")
        try browser.waitUntil("window.__delays[window.__delays.length - 1] === 30000", what: "the 30-second poll again")
        let status = try browser.string("document.getElementById('status').textContent") ?? ""
        #expect(status.hasPrefix("Up to date: no change since "), "\(status)")
    }

    @Test func aMalformedValueIsFlaggedAndNotSent() throws {
        let (browser, service, _) = try openDashboard()
        defer { withExtendedLifetime(service) { browser.close() } }
        try set(browser, "times", "12,abc")
        try browser.waitUntil("!document.getElementById('controls-error').hidden", what: "the message")
        #expect(
            try browser.string("document.getElementById('controls-error').textContent")
                == "Landmark times: non-negative numbers separated by commas.")
        #expect(try browser.string("document.getElementById('times').getAttribute('aria-invalid')") == "true")
        #expect(try browser.string("location.search") == "")
    }
}
