#include "src/core/counters.h"

#include <array>

namespace sotto::core {
namespace {

constexpr std::string_view kNames[] = {
#define SOTTO_COUNTER_NAME(name) #name,
    SOTTO_CORE_COUNTERS(SOTTO_COUNTER_NAME)
#undef SOTTO_COUNTER_NAME
};

}  // namespace

std::string_view to_string(Counter counter) {
  return kNames[static_cast<size_t>(counter)];
}

Counter dropped(net::BeaconDrop drop) {
  switch (drop) {
    case net::BeaconDrop::kSize:
      return Counter::beacon_dropped_size;
    case net::BeaconDrop::kMagic:
      return Counter::beacon_dropped_magic;
    case net::BeaconDrop::kVersion:
      return Counter::beacon_dropped_version;
    case net::BeaconDrop::kFlags:
      return Counter::beacon_dropped_flags;
    case net::BeaconDrop::kPort:
      return Counter::beacon_dropped_port;
    case net::BeaconDrop::kKey:
      return Counter::beacon_dropped_key;
    case net::BeaconDrop::kSignature:
      return Counter::beacon_dropped_signature;
    case net::BeaconDrop::kInterval:
      return Counter::beacon_dropped_interval;
    case net::BeaconDrop::kSeal:
      return Counter::beacon_dropped_seal;
  }
  return Counter::beacon_dropped_size;
}

Counter dropped(net::FrameDrop drop) {
  switch (drop) {
    case net::FrameDrop::kSize:
      return Counter::frame_dropped_size;
    case net::FrameDrop::kLength:
      return Counter::frame_dropped_length;
    case net::FrameDrop::kPadding:
      return Counter::frame_dropped_padding;
    case net::FrameDrop::kParse:
      return Counter::frame_dropped_parse;
    case net::FrameDrop::kNoVersion:
      return Counter::frame_dropped_no_version;
    case net::FrameDrop::kVersion:
      return Counter::frame_dropped_version;
    case net::FrameDrop::kNoBody:
      return Counter::frame_dropped_no_body;
  }
  return Counter::frame_dropped_size;
}

std::map<std::string, uint64_t> Counters::snapshot() const {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < kCount; ++i) {
    if (values_[i] != 0) out[std::string(kNames[i])] = values_[i];
  }
  return out;
}

}  // namespace sotto::core
