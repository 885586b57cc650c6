print("jwksd")
