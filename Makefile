.PHONY: proto test run

# Regenerate the committed protobuf code from Protocol/jwksd/v1/jwksd.proto (needs protoc).
proto:
	scripts/gen-proto.sh

test:
	scripts/test.sh

run:
	scripts/run.sh
