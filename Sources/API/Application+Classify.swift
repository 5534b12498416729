import Classification
import HTTPServer
import JSON

extension Application {
    /// `POST /v1/classify`: validates a case exactly as the registry does (the same validator) and
    /// returns its classification. Stores nothing and returns only what it was sent, so it needs
    /// no credentials; it is rate-limited per client address instead (issue #12).
    func addClassifyRoute(to router: inout Router) {
        router.post("/v1/classify") { [self] request in
            if let wait = limiters.classify.take(request.clientAddress ?? "in-process") {
                throw limiters.refuse(limiters.classify, after: wait)
            }
            try rejectUnknownParameters(request, allowed: [])
            let json = try request.jsonBody()
            let record = try CaseRecord.validate(json, today: cases.today()).get()
            let classification = ClassificationEngine.classify(record)
            return .json(["classification": classification.toJSON()] as JSONValue)
        }
    }
}
