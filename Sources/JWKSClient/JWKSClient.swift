// JWKSClient
