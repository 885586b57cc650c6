// JWKSServer
