import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway private CA and a server certificate for 127.0.0.1, so the dev issuer can serve HTTPS and
/// tests can exercise `ca_file` and HTTPS-only rules without touching the system trust store.
public struct DevCertificates: Sendable {
    /// The CA certificate, PEM: write it to a file and point `ca_file` at it.
    public let caPEM: String
    /// The server certificate, PEM.
    let serverPEM: String
    /// The server's private key, PEM.
    let serverKeyPEM: String

    /// Generates a CA and a server certificate valid for one day.
    /// - Parameter ipAddress: the server's IPv4 address (subject alternative name).
    /// - Throws: when X.509 encoding fails.
    public static func make(ipAddress: [UInt8] = [127, 0, 0, 1]) throws -> DevCertificates {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("jwksd dev CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3_600, notValidAfter: now + 86_400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let serverName = try DistinguishedName { CommonName(ipAddress.map(String.init).joined(separator: ".")) }
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now - 3_600, notValidAfter: now + 86_400, issuer: caName, subject: serverName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: ArraySlice(ipAddress)))])
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        return DevCertificates(
            caPEM: try ca.serializeAsPEM().pemString, serverPEM: try server.serializeAsPEM().pemString,
            serverKeyPEM: serverKey.pemRepresentation)
    }
}
