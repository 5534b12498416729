extension JSONValue {
    /// Applies a JSON Merge Patch (RFC 7396 section 2): objects merge recursively, `null` removes a
    /// member, any other value (arrays included) replaces the target.
    public func merging(patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result: JSONObject
        if case .object(let members) = self { result = members } else { result = [:] }
        for (key, value) in patchMembers {
            if value.isNull {
                result.removeValue(forKey: key)
            } else {
                result[key] = (result[key] ?? .null).merging(patch: value)
            }
        }
        return .object(result)
    }

    /// The JSON Pointers of the members that differ between two documents: for objects, member by
    /// member; anything else (arrays included) is compared whole and reported at its own path.
    /// Used by the audit trail, which records which fields changed but never their values.
    public func changedPaths(to other: JSONValue, at pointer: JSONPointer = .root) -> [JSONPointer] {
        if self == other { return [] }
        guard case .object(let old) = self, case .object(let new) = other else { return [pointer] }
        var paths: [JSONPointer] = []
        for key in Set(old.keys).union(new.keys).sorted() {
            switch (old[key], new[key]) {
            case (let a?, let b?): paths += a.changedPaths(to: b, at: pointer.appending(key))
            case (nil, nil): break
            default: paths.append(pointer.appending(key))
            }
        }
        return paths
    }
}
