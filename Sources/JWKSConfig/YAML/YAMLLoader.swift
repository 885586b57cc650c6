import CYAML

/// Reads YAML text with libyaml into ``YAMLNode``s, enforcing what a config file must be: UTF-8, no tab
/// indentation, one document, unique keys, and bounded alias expansion.
public struct YAMLLoader {
    /// The most nodes that aliases may add to a document (a "billion laughs" guard).
    public var maximumAliasExpansion: Int
    /// The deepest nesting of collections accepted.
    public var maximumDepth: Int

    /// Creates a loader.
    /// - Parameters:
    ///   - maximumAliasExpansion: the most nodes aliases may add (default 100,000).
    ///   - maximumDepth: the deepest collection nesting (default 64).
    public init(maximumAliasExpansion: Int = 100_000, maximumDepth: Int = 64) {
        self.maximumAliasExpansion = maximumAliasExpansion
        self.maximumDepth = maximumDepth
    }

    /// The outcome of loading: the root node when the text could be read, and every problem found.
    public struct Loaded: Sendable {
        /// The document's root; `nil` when a fatal problem stopped reading.
        public var root: YAMLNode?
        /// Problems in document order. Duplicate keys are reported but do not stop loading.
        public var problems: [YAMLProblem]
    }

    /// Loads one YAML document.
    /// - Parameter bytes: the file contents.
    /// - Returns: the root node and the problems found.
    public func load(_ bytes: [UInt8]) -> Loaded {
        let encodingProblems = Self.checkEncoding(bytes)
        if !encodingProblems.isEmpty { return Loaded(root: nil, problems: encodingProblems) }
        let tabProblems = Self.checkTabs(bytes)
        if !tabProblems.isEmpty { return Loaded(root: nil, problems: tabProblems) }
        var builder = TreeBuilder(maximumAliasExpansion: maximumAliasExpansion, maximumDepth: maximumDepth)
        bytes.withUnsafeBufferPointer { buffer in builder.run(buffer) }
        return Loaded(root: builder.fatal ? nil : builder.root, problems: builder.problems)
    }

    /// Reports the first byte sequence that is not UTF-8.
    static func checkEncoding(_ bytes: [UInt8]) -> [YAMLProblem] {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var line = 1
        var column = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput:
                return []
            case .error:
                return [
                    YAMLProblem(
                        code: .encoding, mark: SourceMark(line: line, column: column),
                        message: "the file is not valid UTF-8 (invalid byte sequence here)")
                ]
            }
        }
    }

    /// Reports each line whose indentation contains a tab.
    static func checkTabs(_ bytes: [UInt8]) -> [YAMLProblem] {
        var problems: [YAMLProblem] = []
        var line = 1
        var column = 1
        var inIndentation = true
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
                inIndentation = true
                continue
            }
            if inIndentation {
                if byte == UInt8(ascii: "\t") {
                    problems.append(
                        YAMLProblem(
                            code: .tab, mark: SourceMark(line: line, column: column),
                            message: "tab character in indentation; YAML indents with spaces only"))
                    inIndentation = false
                } else if byte != UInt8(ascii: " ") {
                    inIndentation = false
                }
            }
            if byte & 0xC0 != 0x80 { column += 1 }
        }
        return problems
    }
}

/// Turns libyaml's event stream into a tree.
private struct TreeBuilder {
    enum Frame {
        case sequence(mark: SourceMark, anchor: String?, items: [YAMLNode])
        case mapping(MappingFrame)
    }

    struct MappingFrame {
        var mark: SourceMark
        var anchor: String?
        var pairs: [YAMLNode.Pair] = []
        var pendingKey: YAMLNode?
        var merges: [YAMLNode] = []
        var seen: [String: SourceMark] = [:]
    }

    let maximumAliasExpansion: Int
    let maximumDepth: Int
    var stack: [Frame] = []
    /// The key path of each open frame, parallel to `stack`.
    var paths: [String] = []
    var anchors: [String: YAMLNode] = [:]
    var aliasExpansion = 0
    var documents = 0
    var root: YAMLNode?
    var problems: [YAMLProblem] = []
    var fatal = false

    init(maximumAliasExpansion: Int, maximumDepth: Int) {
        self.maximumAliasExpansion = maximumAliasExpansion
        self.maximumDepth = maximumDepth
    }

    mutating func run(_ buffer: UnsafeBufferPointer<UInt8>) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            fail(.syntax, SourceMark(line: 1, column: 1), "libyaml could not be initialised")
            return
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
        var event = yaml_event_t()
        while !fatal {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                reportSyntaxError(parser)
                return
            }
            let done = event.type == YAML_STREAM_END_EVENT
            handle(event)
            yaml_event_delete(&event)
            if done { break }
        }
        if !fatal, documents == 0 {
            fail(.emptyDocument, SourceMark(line: 1, column: 1), "the file is empty; expected a mapping")
        }
    }

    mutating func fail(_ code: YAMLProblem.Code, _ mark: SourceMark, _ message: String) {
        problems.append(YAMLProblem(code: code, mark: mark, message: message))
        fatal = true
    }

    mutating func reportSyntaxError(_ parser: yaml_parser_t) {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        let mark = SourceMark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        var message = "invalid YAML: \(problem)"
        if let context = parser.context {
            let contextMark = SourceMark(
                line: Int(parser.context_mark.line) + 1, column: Int(parser.context_mark.column) + 1)
            message += " (\(String(cString: context)) at \(contextMark))"
        }
        fail(.syntax, mark, message)
    }

    static func mark(_ mark: yaml_mark_t) -> SourceMark {
        SourceMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafePointer($0)) }
    }

    mutating func handle(_ event: yaml_event_t) {
        let mark = Self.mark(event.start_mark)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                fail(.multipleDocuments, mark, "more than one YAML document; a config file holds exactly one")
            }
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(
                decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let tag = Self.string(scalar.tag)
            let style: YAMLNode.ScalarStyle =
                scalar.style == YAML_PLAIN_SCALAR_STYLE && tag != "tag:yaml.org,2002:str" ? .plain : .quoted
            let node = YAMLNode(kind: .scalar(text, style), mark: mark, weight: 1)
            complete(node, anchor: Self.string(scalar.anchor))
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let target = anchors[name] else {
                fail(.badAlias, mark, "alias *\(name) refers to an anchor that is not defined before it")
                return
            }
            aliasExpansion += target.weight
            guard aliasExpansion <= maximumAliasExpansion else {
                fail(
                    .aliasLimit, mark,
                    "aliases expand the document past \(maximumAliasExpansion) nodes; refusing (alias bomb?)")
                return
            }
            var copy = target
            copy.mark = mark
            complete(copy, anchor: nil)
        case YAML_SEQUENCE_START_EVENT:
            push(.sequence(mark: mark, anchor: Self.string(event.data.sequence_start.anchor), items: []), mark)
        case YAML_MAPPING_START_EVENT:
            push(.mapping(MappingFrame(mark: mark, anchor: Self.string(event.data.mapping_start.anchor))), mark)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            paths.removeLast()
            switch frame {
            case .sequence(let start, let anchor, let items):
                let weight = items.reduce(1) { $0 + $1.weight }
                complete(YAMLNode(kind: .sequence(items), mark: start, weight: weight), anchor: anchor)
            case .mapping(let mapping):
                let node = finishMapping(mapping)
                complete(node, anchor: mapping.anchor)
            }
        default:
            break
        }
    }

    mutating func push(_ frame: Frame, _ mark: SourceMark) {
        guard stack.count < maximumDepth else {
            fail(.depthLimit, mark, "collections nest deeper than \(maximumDepth) levels")
            return
        }
        paths.append(childPath())
        stack.append(frame)
    }

    /// The path the next node completed at the current position will have.
    func childPath() -> String {
        guard let top = stack.last, let path = paths.last else { return "" }
        switch top {
        case .sequence(_, _, let items):
            return "\(path)[\(items.count)]"
        case .mapping(let mapping):
            guard let key = mapping.pendingKey?.scalarText else { return path }
            return path.isEmpty ? key : "\(path).\(key)"
        }
    }

    mutating func finishMapping(_ mapping: MappingFrame) -> YAMLNode {
        var pairs = mapping.pairs
        var present = Set(pairs.compactMap(\.key.scalarText))
        for source in mapping.merges {
            let sources: [YAMLNode]
            if case .sequence(let items) = source.kind { sources = items } else { sources = [source] }
            for merged in sources {
                guard case .mapping(let mergedPairs) = merged.kind else { continue }
                for pair in mergedPairs {
                    guard let name = pair.key.scalarText, present.insert(name).inserted else { continue }
                    pairs.append(pair)
                }
            }
        }
        let weight = pairs.reduce(1) { $0 + $1.key.weight + $1.value.weight }
        return YAMLNode(kind: .mapping(pairs), mark: mapping.mark, weight: weight)
    }

    mutating func complete(_ node: YAMLNode, anchor: String?) {
        if let anchor { anchors[anchor] = node }
        guard let top = stack.popLast() else {
            if root == nil { root = node }
            return
        }
        let path = paths.last ?? ""
        switch top {
        case .sequence(let mark, let anchor, var items):
            items.append(node)
            stack.append(.sequence(mark: mark, anchor: anchor, items: items))
        case .mapping(var mapping):
            addToMapping(&mapping, node, path: path)
            stack.append(.mapping(mapping))
        }
    }

    mutating func addToMapping(_ mapping: inout MappingFrame, _ node: YAMLNode, path: String) {
        guard let key = mapping.pendingKey else {
            mapping.pendingKey = node
            return
        }
        mapping.pendingKey = nil
        guard case .scalar(let name, let style) = key.kind else {
            problems.append(
                YAMLProblem(
                    code: .complexKey, mark: key.mark, path: path,
                    message: "mapping keys must be plain strings, not \(key.typeDescription)"))
            return
        }
        if name == "<<", style == .plain {
            if case .scalar = node.kind {
                problems.append(
                    YAMLProblem(
                        code: .badAlias, mark: key.mark, path: path,
                        message: "merge key << takes a mapping or a list of mappings"))
            } else {
                mapping.merges.append(node)
            }
            return
        }
        if let first = mapping.seen[name] {
            problems.append(
                YAMLProblem(
                    code: .duplicateKey, mark: key.mark, path: path.isEmpty ? name : "\(path).\(name)",
                    message: "duplicate key (first defined at \(first))"))
            return
        }
        mapping.seen[name] = key.mark
        mapping.pairs.append(YAMLNode.Pair(key: key, value: node))
    }
}
