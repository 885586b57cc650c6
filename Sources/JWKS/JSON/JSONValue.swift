/// A parsed JSON value that remembers where it came from.
///
/// jwksd must hand each key's original JSON to clients byte for byte, so the parser keeps the byte
/// range of every value next to its decoded form.
public struct JSONValue: Sendable, Equatable {
    /// The decoded shape of a value.
    public enum Kind: Sendable, Equatable {
        /// `null`.
        case null
        /// `true` or `false`.
        case bool(Bool)
        /// A number, as its literal text (JWKs carry no numbers we compute with).
        case number(String)
        /// A string with its escapes decoded.
        case string(String)
        /// An array of values in document order.
        case array([JSONValue])
        /// An object's members in document order; duplicate names are kept so callers can reject them.
        case object([Member])
    }

    /// One `"name": value` pair of an object.
    public struct Member: Sendable, Equatable {
        /// The member name, escapes decoded.
        public var name: String
        /// The member value.
        public var value: JSONValue
    }

    /// The decoded value.
    public var kind: Kind
    /// The byte offsets `[start, end)` of this value in the parsed document.
    public var range: Range<Int>

    /// A short name of the value's type for error messages (`"a string"`, `"an object"`, ...).
    public var typeDescription: String {
        switch kind {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The members if this is an object.
    public var objectMembers: [Member]? {
        if case .object(let members) = kind { return members }
        return nil
    }

    /// The elements if this is an array.
    public var arrayElements: [JSONValue]? {
        if case .array(let elements) = kind { return elements }
        return nil
    }

    /// The string if this is a string.
    public var stringValue: String? {
        if case .string(let text) = kind { return text }
        return nil
    }

    /// The value of the first member called `name`, if this is an object that has one.
    public subscript(member name: String) -> JSONValue? {
        objectMembers?.first { $0.name == name }?.value
    }
}
