import Classification
import HTTPServer
import JSON

extension Application {
    /// `POST /v1/classify`: validates a case exactly as the registry does (the same validator) and
    /// returns its classification. Stores nothing, so it needs no credentials.
    func addClassifyRoute(to router: inout Router) {
        router.post("/v1/classify") { [self] request in
            try rejectUnknownParameters(request, allowed: [])
            let json = try request.jsonBody()
            let record = try CaseRecord.validate(json, today: cases.today()).get()
            let classification = ClassificationEngine.classify(record)
            return .json(["classification": classification.toJSON()] as JSONValue)
        }
    }
}
