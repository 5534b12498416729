import ArgumentParser
import Foundation
import JSON
import Registry

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list, rotate and revoke API keys.",
        discussion: """
            A key is 256 random bits, printed once by `create` or `rotate` and stored only as its \
            SHA-256. Roles: submitter (its own site's cases), analyst (cohort statistics across \
            sites, no patient-level rows), admin (everything, other sites' cases included). Keys \
            never expire unless created with --expires-in; a running server sees a revocation, \
            rotation or expiry within 2 seconds.
            """,
        subcommands: [Create.self, List.self, Rotate.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print {\"id\", \"key\", \"site\", \"role\"} (the only time the key is shown).")

        @Option(help: ArgumentHelp("The hospital site the key acts for (1-64 of A-Z a-z 0-9 . _ -).", valueName: "site"))
        var site: String

        @Option(help: ArgumentHelp("submitter, analyst or admin.", valueName: "role"))
        var role: String

        @Option(
            name: .customLong("expires-in"),
            help: ArgumentHelp("Lifetime: a number and d, h, m or s (90d). Default: never expires.", valueName: "duration"))
        var expiresIn: String?

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard KeyStore.isValidSite(site) else { throw ValidationError("--site must be 1-64 characters of A-Z a-z 0-9 . _ -") }
            guard Role(rawValue: role) != nil else { throw ValidationError("--role must be submitter, analyst or admin.") }
            if let expiresIn, Duration.parse(expiresIn) == nil {
                throw ValidationError("--expires-in must be a positive whole number followed by d, h, m or s (e.g. 90d).")
            }
        }

        func run() throws {
            let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
            defer { db.close() }
            let created = try KeyStore(database: db).create(
                site: site, role: Role(rawValue: role)!, expiresIn: expiresIn.flatMap(Duration.parse))
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

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a new key for the same site and role; the old key keeps working until the grace period ends.",
            discussion: "Prints the new key like `create` (the only time it is shown), with \"replaces\": the old key's id.")

        @Argument(help: ArgumentHelp("The id of the key to replace (key_...).", valueName: "id"))
        var id: String

        @Option(help: ArgumentHelp("How long the old key keeps working: a number and d, h, m or s (default 7d; 0s ends it now).", valueName: "duration"))
        var grace: String = "7d"

        @Option(
            name: .customLong("expires-in"),
            help: ArgumentHelp("Lifetime of the new key (default: never expires).", valueName: "duration"))
        var expiresIn: String?

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard grace == "0s" || Duration.parse(grace) != nil else {
                throw ValidationError("--grace must be a whole number followed by d, h, m or s (e.g. 7d).")
            }
            if let expiresIn, Duration.parse(expiresIn) == nil {
                throw ValidationError("--expires-in must be a positive whole number followed by d, h, m or s (e.g. 90d).")
            }
        }

        func run() throws {
            let (db, _) = try openMigratedDatabase(database, logger: quietLogger())
            defer { db.close() }
            do {
                let created = try KeyStore(database: db).rotate(
                    id: id, grace: Duration.parse(grace) ?? .zero, expiresIn: expiresIn.flatMap(Duration.parse))
                printJSON(RotatedKey(created: created, replaces: id))
            } catch RegistryError.unknownKey {
                printError("icmm keys rotate: no active key with id \(id)")
                throw ExitCode(1)
            }
        }

        struct RotatedKey: Encodable {
            let created: KeyStore.CreatedKey
            let replaces: String
            enum CodingKeys: String, CodingKey { case replaces }
            func encode(to encoder: any Encoder) throws {
                try created.encode(to: encoder)
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(replaces, forKey: .replaces)
            }
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
