#include "src/net/hello.h"

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/net/beacon.h"

namespace sotto::net {
namespace {

constexpr std::string_view kHelloContext = "sotto hello v1";
constexpr std::string_view kNameContext = "sotto name v1";

}  // namespace

Bytes hello_signing_input(ByteView client_key, ByteView server_key, uint32_t version) {
  Bytes input(kHelloContext.begin(), kHelloContext.end());
  input.insert(input.end(), client_key.begin(), client_key.end());
  input.insert(input.end(), server_key.begin(), server_key.end());
  for (int shift = 24; shift >= 0; shift -= 8)
    input.push_back(static_cast<uint8_t>(version >> shift));
  return input;
}

Status sign_hello(wire::Hello& hello, crypto::SignalEngine& engine, ByteView client_key,
                  ByteView server_key) {
  SOTTO_ASSIGN_OR_RETURN(Bytes signature, engine.sign(hello_signing_input(
                                              client_key, server_key, hello.protocol_version())));
  const Bytes& identity = engine.identity().public_key;
  hello.set_identity_key(as_chars(identity).data(), identity.size());
  hello.set_signature(as_chars(signature).data(), signature.size());
  return Status::ok();
}

Result<Bytes> check_hello(const wire::Hello& hello, ByteView client_key, ByteView server_key) {
  const Bytes identity(hello.identity_key().begin(), hello.identity_key().end());
  if (identity.size() != kBeaconIdentityKeySize) {
    return Status::corruption("hello: no identity key");
  }
  if (!hello.name_digest().empty() && hello.name_digest().size() != kNameDigestSize) {
    return Status::corruption("hello: malformed name digest");
  }
  const Bytes signature(hello.signature().begin(), hello.signature().end());
  if (!crypto::SignalEngine::verify(
          identity, hello_signing_input(client_key, server_key, hello.protocol_version()),
          signature)) {
    return Status::corruption("hello: the signature does not bind this connection's key");
  }
  return identity;
}

Bytes name_digest(ByteView receiver_transport_key, std::string_view name) {
  Bytes input(kNameContext.begin(), kNameContext.end());
  input.insert(input.end(), receiver_transport_key.begin(), receiver_transport_key.end());
  input.insert(input.end(), name.begin(), name.end());
  return crypto::sha256(input);
}

}  // namespace sotto::net
