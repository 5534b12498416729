@testable import HTTPServer
import TestSupport
import Testing

/// `HTTPRequest.mediaType` takes an ASCII path over the bytes (issue 11); it must give exactly what
/// the general rule (`split` at `;`, trim spaces and tabs, `lowercased()`) gives, for every input.
@Suite struct MediaTypeTests {
    static let table: [String] = [
        "application/json", "APPLICATION/JSON", "Application/Json", "application/json; charset=utf-8",
        "application/json;charset=UTF-8", "  application/json  ", "\tapplication/json\t; q=1", " \t application/JSON \t ",
        "application/json ;", "application/json+fhir", "application/fhir+json", "Application/FHIR+JSON; fhirVersion=4.0",
        "application/x-ndjson", "APPLICATION/X-NDJSON;charset=utf-8", "text/plain", "multipart/form-data; boundary=AbC",
        "", " ", "\t", ";", ";;", " ;", "; ", ";application/json", ";;application/json; x", "; ;application/json",
        " ; application/json", "application/json;;", "a;b;c", "application/jsonx", "application/jso", "application/json\r\n",
        "\r\n", "application/\u{7F}json", "application/json\u{0}", "@[`{", "APPLICATION/JSON/XYZ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        // Non-ASCII: the general rule answers them (the ASCII path declines).
        "applicätion/json", "APPLICÄTION/JSON", "application/json; charset=\u{E9}", "\u{A0}application/json",
        ";\u{301}application/json", "application/json\u{301}", "ΑΠΛΟ/JSON", "application/ﬁ", "İ/json",
    ]

    @Test func theASCIIPathEqualsTheGeneralRuleOnATable() {
        for value in Self.table {
            let general = HTTPRequest.generalMediaType(value)
            let request = HTTPRequest(method: .post, path: "/", headers: HTTPHeaders("content-type", value))
            #expect(request.mediaType == general, "\(value.debugDescription)")
            if value.utf8.allSatisfy({ $0 < 0x80 }) {
                #expect(HTTPRequest.asciiMediaType(value) == general, "\(value.debugDescription)")
            } else {
                #expect(HTTPRequest.asciiMediaType(value) == nil, "\(value.debugDescription)")
            }
        }
    }

    /// The results callers compare with, spelled out: both paths could not be wrong alike here.
    @Test func knownValuesGiveTheExpectedType() {
        let expected: [(String, String?)] = [
            ("Application/JSON; charset=utf-8", "application/json"), (" \tapplication/fhir+json ;fhirVersion=4.0", "application/fhir+json"),
            ("APPLICATION/X-NDJSON", "application/x-ndjson"), ("application/json+fhir", "application/json+fhir"),
            (";;Text/Plain ; a=b", "text/plain"), (";", ";"), ("", ""), (" ; x", ""), ("APPLICÄTION/JSON", "applicätion/json"),
        ]
        for (value, type) in expected {
            let request = HTTPRequest(method: .post, path: "/", headers: HTTPHeaders("Content-Type", value))
            #expect(request.mediaType == type, "\(value.debugDescription)")
        }
        #expect(HTTPRequest(method: .post, path: "/").mediaType == nil)
    }

    /// Random values over the bytes that matter (semicolons, spaces, tabs, CR LF, both cases, and a
    /// few non-ASCII scalars), from a fixed seed so that a failure repeats.
    @Test func theASCIIPathEqualsTheGeneralRuleOnRandomValues() {
        let alphabet: [String] = [";", ";", " ", " ", "\t", "\r", "\n", "\r\n", "a", "A", "z", "Z", "j", "S", "/", "+", "-",
                                  "=", "@", "[", "`", "{", "0", "\u{0}", "\u{7F}", "é", "\u{301}", "Ä", "ß", "\u{A0}"]
        var generator = SplitMix64(seed: 0x11_2026)
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 12)
            let value = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
            let general = HTTPRequest.generalMediaType(value)
            let ascii = HTTPRequest.asciiMediaType(value)
            if value.utf8.allSatisfy({ $0 < 0x80 }) {
                #expect(ascii == general, "\(value.debugDescription)")
                #expect(ascii.map { Array($0.utf8) } == Array(general.utf8), "\(value.debugDescription)")
            } else {
                #expect(ascii == nil, "\(value.debugDescription)")
            }
        }
    }
}
