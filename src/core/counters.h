// Counters: the node's named tallies (`sotto stats`), one list for every part of the core, so a
// misspelt counter does not compile and the table costs an array index, not a string lookup.
//
// The names are the ones `sotto stats` and `--json` print, so they are written in snake_case as
// enumerators too: `counters.add(Counter::frames_received)` reads as the line it becomes.
// Thread-safety: none; the node's loop thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "sotto/net/beacon.h"
#include "src/net/wire.h"

namespace sotto::core {

// clang-format off
#define SOTTO_CORE_COUNTERS(X) \
  X(batch_run_again) \
  X(beacon_claims_refused) \
  X(beacon_dropped_busy) \
  X(beacon_dropped_flags) \
  X(beacon_dropped_identity_rate) \
  X(beacon_dropped_interval) \
  X(beacon_dropped_key) \
  X(beacon_dropped_key_bound) \
  X(beacon_dropped_magic) \
  X(beacon_dropped_own_key) \
  X(beacon_dropped_pin_mismatch) \
  X(beacon_dropped_port) \
  X(beacon_dropped_port_mismatch) \
  X(beacon_dropped_rate_limit) \
  X(beacon_dropped_seal) \
  X(beacon_dropped_signature) \
  X(beacon_dropped_size) \
  X(beacon_dropped_version) \
  X(beacon_echo_unmatched) \
  X(beacon_own_echo) \
  X(beacon_proofs) \
  X(beacon_reply_suppressed) \
  X(beacon_send_failed) \
  X(beacon_stale) \
  X(beacons_received) \
  X(beacons_sent) \
  X(bundle_request_failed) \
  X(bundle_request_refused_busy) \
  X(bundle_request_refused_rate) \
  X(bundle_unexpected) \
  X(bundles_served) \
  X(channel_leave_ignored) \
  X(channel_update_rejected) \
  X(checkpoint_failed) \
  X(connect_failed) \
  X(expiry_rejected) \
  X(frame_dropped_global_budget) \
  X(frame_dropped_length) \
  X(frame_dropped_no_body) \
  X(frame_dropped_no_version) \
  X(frame_dropped_padding) \
  X(frame_dropped_parse) \
  X(frame_dropped_rate_limit) \
  X(frame_dropped_size) \
  X(frame_dropped_unknown_peer) \
  X(frame_dropped_unproved_key) \
  X(frame_dropped_version) \
  X(datagram_dropped_not_voice) \
  X(datagram_dropped_unproved_key) \
  X(frame_encode_failed) \
  X(frame_unhandled) \
  X(frames_received) \
  X(heartbeats_received) \
  X(group_dropped_content) \
  X(group_dropped_invalid) \
  X(group_dropped_malformed) \
  X(group_dropped_no_key) \
  X(group_dropped_not_member) \
  X(group_dropped_seq) \
  X(group_held_for_key) \
  X(group_hold_expired) \
  X(group_hold_full) \
  X(group_messages_received) \
  X(hello_dropped_name) \
  X(hello_dropped_own_identity) \
  X(hello_dropped_rate_limit) \
  X(hello_dropped_signature) \
  X(hello_sign_failed) \
  X(identity_key_rebound) \
  X(link_disconnects) \
  X(link_handshake_failures) \
  X(link_handshakes) \
  X(link_misbehaved) \
  X(links_closed_idle) \
  X(links_opened_on_demand) \
  X(mailbox_deposit_refused) \
  X(mailbox_deposits_held) \
  X(mailbox_deposits_over_quota) \
  X(mailbox_deposits_sent) \
  X(mailbox_dropped_malformed) \
  X(mailbox_expired) \
  X(mailbox_forward_refused) \
  X(mailbox_forward_unreadable) \
  X(mailbox_forwarded) \
  X(mailbox_forwards_received) \
  X(mailbox_receipt_refused) \
  X(mailbox_record_refused) \
  X(mailbox_records_received) \
  X(mailbox_register_refused) \
  X(mailbox_taken) \
  X(mailbox_taken_refused) \
  X(member_session_failed) \
  X(message_dropped_content) \
  X(message_dropped_id_mismatch) \
  X(message_dropped_invalid) \
  X(message_duplicates) \
  X(message_refused_identity_mismatch) \
  X(message_refused_unknown) \
  X(message_refused_untrusted) \
  X(messages_expired) \
  X(messages_received) \
  X(messages_sent) \
  X(name_lookup_greetings) \
  X(name_lookup_greetings_capped) \
  X(outbox_frames_resent) \
  X(outbox_frames_sent) \
  X(outbox_retries) \
  X(peer_state_changes) \
  X(peer_table_full) \
  X(peers_discovered) \
  X(peers_evicted) \
  X(receipt_dropped_malformed) \
  X(receipt_dropped_oversized) \
  X(receipts_received) \
  X(receipts_sent) \
  X(receive_batch_failed) \
  X(relay_acknowledged) \
  X(relay_copies_archived) \
  X(relay_copies_sent) \
  X(relay_dropped_duplicate) \
  X(relay_dropped_invalid) \
  X(relay_dropped_no_key) \
  X(relay_dropped_not_member) \
  X(relay_dropped_order) \
  X(relay_key_dropped) \
  X(relay_keys_known) \
  X(relay_keys_received) \
  X(relay_keys_sent) \
  X(relay_marks_ignored) \
  X(relay_sync_dropped) \
  X(relay_sync_timeouts) \
  X(relay_syncs_received) \
  X(relay_syncs_sent) \
  X(relinks) \
  X(sender_key_rejected) \
  X(sender_key_share_failed) \
  X(sender_keys_received) \
  X(sender_keys_shared) \
  X(signatures_checked_ahead) \
  X(signatures_checked_in_turn) \
  X(storage_full_commits) \
  X(transport_keys_proved) \
  X(voice_clips_archived) \
  X(voice_clips_awaited) \
  X(voice_clips_rejected) \
  X(voice_encode_failures) \
  X(voice_frames_concealed) \
  X(voice_frames_dropped_auth) \
  X(voice_frames_dropped_early_full) \
  X(voice_frames_dropped_early_talker) \
  X(voice_frames_dropped_floor) \
  X(voice_frames_dropped_malformed) \
  X(voice_frames_dropped_not_member) \
  X(voice_frames_dropped_replay) \
  X(voice_frames_dropped_unknown) \
  X(voice_frames_dropped_wrong_channel) \
  X(voice_frames_late) \
  X(voice_frames_received) \
  X(voice_frames_send_dropped) \
  X(voice_frames_sent) \
  X(voice_output_failures) \
  X(voice_receptions_dropped_removed) \
  X(voice_starts_dropped_too_many) \
  X(voice_starts_received) \
  X(voice_starts_rejected) \
  X(voice_transmissions_refused) \
  X(voice_transmissions_started) \
  X(voice_wav_write_failures)
// clang-format on

enum class Counter : size_t {
#define SOTTO_COUNTER_ENUM(name) name,
  SOTTO_CORE_COUNTERS(SOTTO_COUNTER_ENUM)
#undef SOTTO_COUNTER_ENUM
};

std::string_view to_string(Counter counter);

// The counter for a beacon or a frame refused for `drop`.
Counter dropped(net::BeaconDrop drop);
Counter dropped(net::FrameDrop drop);

class Counters {
 public:
  void add(Counter counter, uint64_t n = 1) { values_[static_cast<size_t>(counter)] += n; }
  uint64_t get(Counter counter) const { return values_[static_cast<size_t>(counter)]; }
  // Every counter that is not zero, by name (what `sotto stats` prints).
  std::map<std::string, uint64_t> snapshot() const;

 private:
  static constexpr size_t kCount = 0
#define SOTTO_COUNTER_ONE(name) +1
      SOTTO_CORE_COUNTERS(SOTTO_COUNTER_ONE)
#undef SOTTO_COUNTER_ONE
      ;
  std::array<uint64_t, kCount> values_{};
};

}  // namespace sotto::core
