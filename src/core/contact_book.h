// ContactBook: the people we write to 1:1 (doc/guide.md, Text) — adding one through its bundle
// (X3DH), serving our own bundle, resolving what a user types (a name, never a namesake's; a
// fingerprint prefix), verification and following a contact to a new key. Also knows whose session
// is confirmed (our pre-key header can stop) and who may learn our name. Thread-safety: the node's
// loop thread only.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/events.h"
#include "sotto/storage/contact_repo.h"
#include "src/core/message_view.h"

namespace sotto::core {

struct MessengerHooks;
struct MessengerOptions;

class ContactBook {
 public:
  using AddDone = std::function<void(Result<ContactInfo>)>;

  // Each greeting may open a link (three ZeroMQ sockets, closed after --link-idle): a LAN of
  // thousands of strangers is not dialled whole for one typed name. Strangers beyond this many
  // are not asked; the add says no peer has the name, and a fingerprint prefix still works.
  static constexpr size_t kMaxGreetingsPerLookup = 256;

  ContactBook(Account& account, const Clock& clock, const MessengerOptions& options,
              const MessengerHooks& hooks);

  // A contact name (the first to hold it, never a namesake) or fingerprint prefix; an
  // InvalidArgument that says why otherwise.
  Result<storage::ContactRecord> resolve(const std::string& to);
  Result<std::vector<storage::ContactRecord>> records();
  Result<std::vector<ContactInfo>> list();
  ContactInfo info_of(const storage::ContactRecord& contact);
  // A member's or contact's display name (the fingerprint's start when unknown).
  std::string name_of(const std::string& fingerprint);
  // A contact or a fellow channel member: someone our display name may go to.
  bool knows(const std::string& fingerprint);
  bool is_contact(const std::string& fingerprint);

  // Asks the peer for its bundle, builds the session, makes it a contact; `done` runs later.
  void add(const std::string& peer_query, const std::string& name, AddDone done);
  // What the user's `add` runs: as add, but a query no peer matches may be the name of a
  // stranger found by its beacons alone, which has sent us no Hello and so no name digest. Every
  // such stranger online (at most kMaxGreetingsPerLookup) is sent our Hello, which it answers
  // with its own; the add goes on once each answered or name_lookup_ms passed, whichever is first.
  // Only this greets: nothing a peer sends makes us greet anyone.
  void look_up_and_add(const std::string& peer_query, const std::string& name, AddDone done);
  // A peer's state or Hello changed: a lookup that heard from everyone it greeted goes on.
  void on_peer_changed(const std::string& fingerprint);
  Result<std::string> safety_number(const std::string& to);
  void confirm(const std::string& to, AddDone done);
  // `new_contact` (verified) takes the name of `old_contact`, which becomes its namesake.
  Result<ContactInfo> replace(const std::string& old_contact, const std::string& new_contact);
  // Inside the receive transaction: a first message from a peer makes it a contact.
  Status ensure(const std::string& fingerprint, std::vector<Event>& events);

  void on_bundle_request(const std::string& from, const wire::BundleRequest& request);
  void on_bundle(const std::string& from, const wire::Bundle& bundle);
  // On the timer: adds whose peer never answered fail; lookups past their time go on with the
  // answers they have.
  void expire_adds();
  // The node stops: every add still waiting for its bundle or a lookup fails now.
  void abandon_adds();
  // A receipt for message `row` from `from`: if it was a 1:1 message, the peer holds our
  // session, and SignalEngine::confirm_session stops the pre-key header (once per peer and run).
  Status confirm_session_by_receipt(const std::string& from, int64_t row);

 private:
  struct PendingAdd {
    std::string fingerprint;
    std::string name;
    Bytes request_id;
    int64_t deadline_ms = 0;
    AddDone done;
  };
  // An add waiting for the strangers it greeted to answer with their Hellos.
  struct NameLookup {
    std::string query;
    std::string name;
    int64_t deadline_ms = 0;
    AddDone done;
    std::vector<std::string> greeted;
  };
  // Peers whose name, name digest (`typed_digest`) or fingerprint prefix is `peer_query`.
  std::vector<PeerInfo> matching_peers(const std::string& peer_query, const Bytes& typed_digest);
  // Online peers that showed us neither a name nor a digest, sent our Hello; those it went to.
  std::vector<std::string> greet_strangers();
  // Whether every peer `lookup` greeted has answered, gone offline or been forgotten.
  bool heard_from_all(const NameLookup& lookup);
  // Lookups that are `ready` leave the queue and go on to add the peer they found, or fail.
  void go_on_with(const std::function<bool(const NameLookup&)>& ready);
  // The one peer online now that `peer_query` names (by its name or a fingerprint prefix).
  Result<PeerInfo> find_peer(const std::string& peer_query, const Bytes& typed_digest);
  // Inserts or renames the contact (its trust and namesake_of stay the repository's); the row
  // as stored.
  Result<storage::ContactRecord> save(const storage::ContactRecord& record);
  static Result<storage::ContactRecord> stored(storage::ContactRepo& repo,
                                               const std::string& fingerprint);
  void finish_add(PendingAdd add, Result<ContactInfo> result);
  bool bundle_request_allowed(const std::string& from);

  Account& account_;
  const Clock& clock_;
  const MessengerOptions& options_;
  const MessengerHooks& hooks_;
  std::vector<PendingAdd> pending_adds_;
  std::vector<NameLookup> lookups_;
  std::map<std::string, int64_t> last_bundle_served_ms_;
  std::set<std::string> confirmed_sessions_;  // peers that acknowledged a 1:1 message this run
};

}  // namespace sotto::core
