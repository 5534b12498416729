import ArgumentParser
import Foundation
import JSON
import Registry

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys.",
        discussion: """
            A key is 256 random bits, printed once by `create` and stored only as its SHA-256. \
            Roles: submitter (its own site's cases), analyst (cohort statistics across sites, no \
            patient-level rows), admin (everything, other sites' cases included).
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print {\"id\", \"key\", \"site\", \"role\"} (the only time the key is shown).")

        @Option(help: ArgumentHelp("The hospital site the key acts for (1-64 of A-Z a-z 0-9 . _ -).", valueName: "site"))
        var site: String

        @Option(help: ArgumentHelp("submitter, analyst or admin.", valueName: "role"))
        var role: String

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard KeyStore.isValidSite(site) else { throw ValidationError("--site must be 1-64 characters of A-Z a-z 0-9 . _ -") }
            guard Role(rawValue: role) != nil else { throw ValidationError("--role must be submitter, analyst or admin.") }
        }

        func run() throws {
            let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
            defer { db.close() }
            let created = try KeyStore(database: db).create(site: site, role: Role(rawValue: role)!)
            printJSON(created)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (ids, sites, roles, dates; never the keys).")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
            defer { db.close() }
            printJSON(try KeyStore(database: db).list())
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id; it stops working at once.")
        @Argument(help: ArgumentHelp("The key id (key_...).", valueName: "id"))
        var id: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
            defer { db.close() }
            do {
                try KeyStore(database: db).revoke(id: id)
                print(#"{"revoked":"\#(id)"}"#)
            } catch RegistryError.unknownKey {
                printError("icmm keys revoke: no key with id \(id)")
                throw ExitCode(1)
            }
        }
    }
}

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}
