import Foundation

/// Reads, validates and builds a ``JWKSDConfig``: all or nothing.
public enum ConfigLoader {
    /// Loads a config file.
    /// - Parameter path: the file's path; relative paths in the file resolve against its directory.
    /// - Returns: the validated configuration.
    /// - Throws: ``ConfigError`` with every problem found.
    public static func load(file path: String) throws(ConfigError) -> JWKSDConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ConfigError(
                file: path,
                diagnostics: [
                    ConfigDiagnostic(
                        code: .yaml, mark: SourceMark(line: 1, column: 1), path: "", message: "the file \(reason)")
                ])
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try load(bytes: Array(data), file: path, baseDirectory: directory.isEmpty ? "." : directory)
    }

    /// Loads config text.
    /// - Parameters:
    ///   - bytes: the YAML.
    ///   - file: the name shown in diagnostics.
    ///   - baseDirectory: where relative paths resolve.
    /// - Returns: the validated configuration.
    /// - Throws: ``ConfigError`` with every problem found.
    public static func load(bytes: [UInt8], file: String = "<string>", baseDirectory: String = ".") throws(ConfigError)
        -> JWKSDConfig
    {
        let loaded = YAMLLoader().load(bytes)
        var diagnostics = loaded.problems.map { problem in
            ConfigDiagnostic(
                code: problem.code == .duplicateKey ? .duplicateKey : .yaml, mark: problem.mark, path: problem.path,
                message: problem.message)
        }
        var config: JWKSDConfig?
        if let root = loaded.root {
            var decoder = ConfigDecoder()
            config = decoder.decode(root, baseDirectory: baseDirectory)
            diagnostics += decoder.diagnostics
        }
        guard diagnostics.isEmpty, let config else {
            let sorted = diagnostics.enumerated().sorted { ($0.element.mark, $0.offset) < ($1.element.mark, $1.offset) }
            throw ConfigError(file: file, diagnostics: sorted.map(\.element))
        }
        return config
    }

    /// Loads config text given as a string.
    /// - Parameters:
    ///   - text: the YAML.
    ///   - file: the name shown in diagnostics.
    ///   - baseDirectory: where relative paths resolve.
    /// - Returns: the validated configuration.
    /// - Throws: ``ConfigError`` with every problem found.
    public static func load(text: String, file: String = "<string>", baseDirectory: String = ".") throws(ConfigError)
        -> JWKSDConfig
    {
        try load(bytes: Array(text.utf8), file: file, baseDirectory: baseDirectory)
    }
}
