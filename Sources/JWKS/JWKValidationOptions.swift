/// Policy knobs for validating keys.
public struct JWKValidationOptions: Sendable, Equatable {
    /// RSA keys with a shorter modulus are dropped. RFC 7518 §3.3 requires 2048 bits.
    public var minimumRSABits: Int
    /// RSA keys with a longer modulus are dropped as implausible.
    public var maximumRSABits: Int

    /// Creates options.
    /// - Parameters:
    ///   - minimumRSABits: the smallest RSA modulus accepted (default 2048).
    ///   - maximumRSABits: the largest RSA modulus accepted (default 16384).
    public init(minimumRSABits: Int = 2048, maximumRSABits: Int = 16384) {
        self.minimumRSABits = minimumRSABits
        self.maximumRSABits = maximumRSABits
    }
}
