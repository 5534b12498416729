/// Text and number formatting for hand-written SVG (XML 1.0).
enum SVGText {

    /// `s` as XML character data or attribute value: the five predefined entities are escaped,
    /// characters XML 1.0 forbids (C0 controls other than tab, newline and carriage return;
    /// U+FFFE, U+FFFF) become U+FFFD, and tab / newline / carriage return are written as
    /// character references so that attribute values survive attribute-value normalization
    /// (XML 1.0 section 3.3.3).
    static func escaped(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out.unicodeScalars.append("\u{FFFD}")
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// `v` with exactly `decimals` digits after the point (never exponent notation, NaN or
    /// infinity: a non-finite value prints as 0, magnitudes are clamped to 1e12).
    static func fixed(_ v: Double, _ decimals: Int) -> String {
        let decimals = min(max(decimals, 0), 6)
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        guard v.isFinite else { return fixed(0, decimals) }
        let clamped = min(max(v, -1e12), 1e12)
        let scaled = (clamped * Double(scale)).rounded()
        let magnitude = Int64(scaled.magnitude)
        var out = scaled < 0 && magnitude != 0 ? "-" : ""
        out += String(magnitude / scale)
        if decimals > 0 {
            let fraction = String(magnitude % scale)
            out += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return out
    }

    /// A coordinate in user units (two decimals).
    static func coordinate(_ v: Double) -> String { fixed(v, 2) }

    /// Approximate advance width of `s` in a sans-serif font of `size` px (Helvetica / DejaVu
    /// Sans average about 0.55-0.6 em per character; the wider value keeps layouts from overlapping).
    /// Bold text runs about 10% wider.
    static func width(_ s: String, size: Double, bold: Bool = false) -> Double {
        Double(s.count) * size * (bold ? 0.68 : 0.6)
    }

    /// `s` cut to at most `maxWidth` px with an ellipsis.
    static func truncated(_ s: String, size: Double, bold: Bool = false, maxWidth: Double) -> String {
        if width(s, size: size, bold: bold) <= maxWidth { return s }
        let keep = max(Int(maxWidth / width("x", size: size, bold: bold)) - 1, 1)
        return String(s.prefix(keep)) + "\u{2026}"
    }

    /// A p-value as journals print it: "p < 0.001" below 0.001, else three decimals.
    static func pValue(_ p: Double) -> String {
        p < 0.001 ? "p < 0.001" : "p = " + fixed(min(p, 1), 3)
    }

    /// A p-value in a table column headed "p": "< 0.001" or three decimals.
    static func pValueColumn(_ p: Double) -> String {
        p < 0.001 ? "< 0.001" : fixed(min(p, 1), 3)
    }

    /// A time on an axis with step `step`: as many decimals as the step needs (0 for whole steps).
    static func tick(_ v: Double, step: Double) -> String {
        var decimals = 0
        var scaled = step
        while decimals < 6, (scaled - scaled.rounded()).magnitude > 1e-9 * max(1, scaled.magnitude) {
            decimals += 1
            scaled *= 10
        }
        return fixed(v, decimals)
    }
}
