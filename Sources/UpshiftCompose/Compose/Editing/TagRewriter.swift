import Foundation

/// Computes a new tag (or a whole reference with a new tag) from an old one, keeping the variant suffix.
package enum TagRewriter {
    package enum Failure: Error, Equatable {
        case digest
        case unversioned(String)
        case unchanged
    }

    /// Splits `registry:5000/repo:tag@sha256:…` into its name, tag and digest, without normalising.
    static func split(reference: String) -> (name: String, tag: String?, digest: String?) {
        var rest = Substring(reference)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        let slash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), slash.map({ colon > $0 }) ?? true {
            return (String(rest[..<colon]), String(rest[rest.index(after: colon)...]), digest)
        }
        return (String(rest), nil, digest)
    }

    /// `15.8-bookworm` + major 18 -> `18-bookworm`; `15` -> `18`; `15-alpine3.20` -> `18-alpine3.20`.
    static func rewrite(tag: String, change: TagChange) throws -> String {
        let result: String
        switch change {
        case .tag(let new):
            result = new
        case .reference(let new):
            // a bare tag value: the new reference's tag (and digest) stand for the tag
            let parts = split(reference: new)
            result = (parts.tag ?? "latest") + (parts.digest.map { "@" + $0 } ?? "")
        case .major(let major):
            let scalars = Array(tag.unicodeScalars)
            var index = 0
            while index < scalars.count, ("0"..."9").contains(scalars[index]) { index += 1 }
            guard index > 0 else {
                // A floating postgres tag names no major: the edit pins one (`latest` -> `18`, `alpine` -> `18-alpine`).
                if let pinned = pinFloating(tag, major: major) { return pinned }
                throw Failure.unversioned(tag)
            }
            // Further numeric components (`.8`, `.8.1`) belong to the old version and are dropped.
            while index < scalars.count, scalars[index] == "." {
                var next = index + 1
                while next < scalars.count, ("0"..."9").contains(scalars[next]) { next += 1 }
                guard next > index + 1 else { throw Failure.unversioned(tag) }
                index = next
            }
            let suffix = String(String.UnicodeScalarView(scalars[index...]))
            // `15beta1`, `15rc2`: not a release tag with a variant.
            guard suffix.isEmpty || suffix.hasPrefix("-") else { throw Failure.unversioned(tag) }
            result = major + suffix
        }
        guard result != tag else { throw Failure.unchanged }
        return result
    }

    /// The postgres image's floating tags (`latest`, `alpine`, `alpine3.22`, `bookworm`, `trixie`) pinned to
    /// `major`, keeping the variant; `nil` for any other word.
    package static func pinFloating(_ tag: String, major: String) -> String? {
        if tag == "latest" { return major }
        let distributions = ["alpine", "bookworm", "bullseye", "trixie"]
        guard distributions.contains(where: { tag == $0 || (tag.hasPrefix($0) && tag.dropFirst($0.count).allSatisfy { $0.isNumber || $0 == "." }) }) else { return nil }
        return "\(major)-\(tag)"
    }

    /// Rewrites a value that is either a bare tag (`15-alpine`, as in `postgres:${PG_TAG}`) or a whole
    /// reference (`postgres:15`, as in `image: ${PG_IMAGE}`).
    /// `isReference` forces the reference reading (a literal `image:` value is never a bare tag).
    static func rewrite(value: String, change: TagChange, isReference: Bool = false) throws -> String {
        let looksLikeReference = isReference || value.contains(":") || value.contains("/") || value.contains("@")
        guard looksLikeReference else { return try rewrite(tag: value, change: change) }
        if case .reference(let new) = change {
            guard new != value else { throw Failure.unchanged }
            return new
        }
        let parts = split(reference: value)
        guard parts.digest == nil else { throw Failure.digest }
        guard let tag = parts.tag else {
            if case .major(let major) = change { return parts.name + ":" + major }
            throw Failure.unversioned("latest")
        }
        return parts.name + ":" + (try rewrite(tag: tag, change: change))
    }
}
