/// What a key may do (issue: case registry, "Credentials and roles").
public enum Role: String, Sendable, CaseIterable, Codable {
    /// Creates, reads, updates and erases the cases of its own site only.
    case submitter
    /// Cohort statistics across all sites; never patient-level rows.
    case analyst
    /// Everything, other sites' cases included.
    case admin
}

/// The caller behind an API key.
public struct Principal: Sendable, Equatable {
    public let keyID: String
    public let site: String
    public let role: Role

    public init(keyID: String, site: String, role: Role) {
        self.keyID = keyID
        self.site = site
        self.role = role
    }
}
