import CPostgreSQL
import Foundation

/// One statement with its parameters, to be sent in a pipeline (`PostgresConnection.commitPipelined`).
struct PipelinedStatement {
    let sql: String
    let arguments: [any DatabaseValueConvertible]
}

/// How a transaction sent in one round trip ended.
enum PipelinedCommitOutcome {
    /// Committed: the number of rows each statement changed, in order.
    case committed([Int])
    /// Nothing of it is stored (a statement failed; the server skipped the rest and the
    /// transaction was rolled back): the first error.
    case rolledBack(DatabaseError)
}

extension PostgresConnection {
    /// Sends the control statements still waiting (the group's BEGIN), `statements` (prepared once
    /// per connection), the `beforeCommit` statements and COMMIT to the server in one round trip
    /// (libpq's pipeline mode, libpq >= 14), and reads every answer.
    ///
    /// The server runs them in order and skips the rest after the first failure, up to the sync
    /// point. The transaction is committed only if COMMIT itself answered `COMMIT` (a COMMIT of a
    /// failed transaction answers `ROLLBACK`); otherwise it is rolled back here. Throws only when
    /// the outcome cannot be known (the connection failed before COMMIT's answer arrived).
    ///
    /// Blocking mode is safe here: the server's answers are a few bytes per statement, far less
    /// than the socket buffers, so the server never waits for us to read while we are still sending.
    func commitPipelined(_ statements: [PipelinedStatement], beforeCommit: [String]) throws(DatabaseError)
        -> PipelinedCommitOutcome
    {
        // Everything but transaction control is prepared, once per connection and text (the
        // server parses it once); a PREPARE is a round trip of its own and sends the control
        // statements waiting before it. The batch's statements get generic plans (`genericPlans`).
        let tail = beforeCommit + ["COMMIT"]
        do {
            for sql in pendingControl + [Self.genericPlans] + statements.map(\.sql) + tail where !Self.isTransactionControl(sql) {
                _ = try preparedName(sql)
            }
        } catch {
            // A statement the server refuses to prepare fails its own job when run alone.
            guard !isBroken else { throw error }
            pendingControl.removeAll()
            if !isIdle { try execute("ROLLBACK") }
            return .rolledBack(error)
        }
        let controls = pendingControl + [Self.genericPlans]
        pendingControl.removeAll()
        func name(_ sql: String) throws(DatabaseError) -> String? { Self.isTransactionControl(sql) ? nil : try preparedName(sql) }
        let controlNames = try controls.map { sql throws(DatabaseError) in try name(sql) }
        let names = try statements.map { statement throws(DatabaseError) in try preparedName(statement.sql) }
        let tailNames = try tail.map { sql throws(DatabaseError) in try name(sql) }
        let unparameterized = controls.count
        guard PQenterPipelineMode(handle) == 1 else { throw failure(nil, sql: "pipeline") }
        var sent = true
        func send(_ sql: String, _ name: String?) {
            guard sent else { return }
            sent = name.map { PQsendQueryPrepared(handle, $0, 0, nil, nil, nil, 0) == 1 }
                ?? (PQsendQueryParams(handle, sql, 0, nil, nil, nil, nil, 0) == 1)
        }
        for (sql, name) in zip(controls, controlNames) { send(sql, name) }
        for (statement, name) in zip(statements, names) where sent {
            let parameters = PostgresTextParameters(statement.arguments)
            sent = parameters.withValues { values in
                PQsendQueryPrepared(handle, name, Int32(values.count), values, nil, nil, 0) == 1
            }
        }
        for (sql, name) in zip(tail, tailNames) { send(sql, name) }
        sent = sent && PQpipelineSync(handle) == 1
        let expected = unparameterized + statements.count + tail.count
        // Each query's result(s) then NULL, in order; then the sync point.
        var results: [OpaquePointer] = []
        defer { results.forEach { PQclear($0) } }
        while sent && results.count < expected {
            guard let first = PQgetResult(handle) else { break }
            while let extra = PQgetResult(handle) { PQclear(extra) }
            results.append(first)
        }
        if results.count == expected {
            while let result = PQgetResult(handle) {
                let status = PQresultStatus(result)
                PQclear(result)
                if status == PGRES_PIPELINE_SYNC { break }
            }
        }
        PQexitPipelineMode(handle)
        let commitAnswered = results.count == expected && PQresultStatus(results[expected - 1]) == PGRES_COMMAND_OK
        if commitAnswered && String(cString: PQcmdStatus(results[expected - 1])) == "COMMIT" {
            return .committed(results[unparameterized..<(unparameterized + statements.count)].map { result in
                Int(String(cString: PQcmdTuples(result))) ?? 0
            })
        }
        guard results.count == expected, !isBroken else {
            // COMMIT's answer never came: it may or may not have committed.
            throw failure(nil, sql: "COMMIT")
        }
        let sqls = controls + statements.map(\.sql) + tail
        var error = DatabaseError(postgres: "25P02", message: "transaction rolled back", sql: "COMMIT")
        for (sql, result) in zip(sqls, results) {
            let status = PQresultStatus(result)
            if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_PIPELINE_ABORTED {
                error = failure(result, sql: sql)
                break
            }
        }
        if !isIdle { try execute("ROLLBACK") }
        return .rolledBack(error)
    }

    /// The batch's statements are planned once per connection, not at every execution as this
    /// connection's other statements are (`plan_cache_mode = force_custom_plan`, for lookups whose
    /// best plan changes as a table grows): each is one INSERT or UPDATE of a few rows whose plan
    /// does not depend on its values, and planning it anew cost the server more than running it.
    /// Until the end of the transaction only.
    static let genericPlans = "SET LOCAL plan_cache_mode = force_generic_plan"

    /// BEGIN, COMMIT, savepoints: sent as text, never prepared.
    static func isTransactionControl(_ sql: String) -> Bool {
        ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"].contains { sql.hasPrefix($0) }
    }
}
