// The archive at a million messages (issue 8):
//   search_1m_ms      `sotto search WORD` without the process: the newest 50 messages holding a
//                     word that about 1 % of all messages hold (~10,000 hits), with snippets,
//                     names and conversations, on a freshly opened profile
//   history_page_ms   the latest 100 messages of the quietest conversation (0.1 % of the archive,
//                     so its newest 100 are spread over the last tenth of it), freshly opened
//   open_1m_ms        Account::open on that profile, minus its Argon2id (timed alone, at the
//                     library's minimum cost, and subtracted): header, database, checks,
//                     migrations, identity, Signal engine
// Each `_bare` twin does the same on the same file through bare SQLCipher (sqlite3_open_v2 +
// sqlite3_key with sotto's settings, bare_sqlcipher.h; the same SQL, every column read), so the
// difference is sotto's own cost. Every
// figure is the median of kRepeats runs, each on a new connection (so its page cache starts
// empty; the file is in the OS cache, as it is for anyone who searched a moment ago).
//
// The archive is built once per process (about half a minute here): 16 conversations, bodies of
// 5-16 words drawn from a Zipf-distributed 5,000-word vocabulary, through MessageRepo::insert in
// 100,000-row transactions, so the search index grows as it does in use.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sotto/core/account.h"
#include "sotto/core/offline.h"
#include "sotto/storage/contact_repo.h"
#include "sotto/storage/expiry_repo.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/profile.h"
#include "sotto/storage/search_repo.h"
#include "src/core/account_internals.h"
#include "storage/profile_header.h"
#include "tests/bench/bare_sqlcipher.h"
#include "tests/bench/bench.h"
#include "tests/support/temp_dir.h"

namespace sotto::bench {
namespace {

using Stopwatch = std::chrono::steady_clock;

constexpr int64_t kMessages = 1'000'000;
constexpr int64_t kBatch = 100'000;
constexpr int kConversations = 16;
constexpr int kVocabulary = 5000;
constexpr int kQueryRank = 100;  // the search word: ~1.1 % of messages hold it
constexpr int kRepeats = 5;
constexpr const char* kPassphrase = "bench";

double ms_since(Stopwatch::time_point start) {
  return std::chrono::duration<double, std::milli>(Stopwatch::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

[[noreturn]] void die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "bench: archive: %s: %s\n", what.c_str(), status.message().c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> result, const std::string& what) {
  if (!result.is_ok()) die(what, result.status());
  return std::move(result).value();
}

void must(const Status& status, const std::string& what) {
  if (!status.is_ok()) die(what, status);
}

SecretBytes pass() {
  return SecretBytes::copy_of(std::string_view(kPassphrase));
}

// The cheapest Argon2id libsodium allows: the KDF is not what these figures are about.
storage::KdfParams minimal_kdf() {
  return {"minimal", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

std::string word(int rank) {
  // Pronounceable, distinct, deterministic: rank in base 20 over consonant-vowel pairs.
  static const char* kSyllables[] = {"ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "ze",
                                     "ba", "do", "fi", "gu", "he", "jo", "ki", "lu", "ma", "no"};
  std::string out;
  int n = rank + 20;
  while (n > 0) {
    out += kSyllables[n % 20];
    n /= 20;
  }
  return out;
}

struct Archive {
  test::TempDir tmp;
  std::string dir;
  std::string db_path;
  std::string raw_key;  // "x'<hex>'" for bare SQLCipher
  std::string query;    // the search word
  std::string quiet;    // the quietest conversation's contact name
  std::string quiet_fingerprint;
};

std::unique_ptr<Archive> build_archive() {
  auto archive = std::make_unique<Archive>();
  archive->dir = archive->tmp / "p";
  archive->db_path = archive->dir + "/" + storage::Profile::kDatabaseFile;
  const auto started = Stopwatch::now();
  auto account =
      must(core::Account::create(archive->dir, pass(), "bench", minimal_kdf()), "create profile");
  storage::Database& db = core::AccountInternals::db(*account);
  // A larger cache while building: index pages stay decrypted between batches.
  if (!db.exec_script("PRAGMA cache_size = -262144;").is_ok()) std::exit(1);

  std::vector<std::string> fingerprints;
  for (int c = 0; c < kConversations; ++c) {
    storage::ContactRecord contact;
    contact.fingerprint = std::string(60, "0123456789abcdef"[c]) + "beef";
    contact.name = c == 0 ? "quiet" : "peer" + std::to_string(c);
    contact.identity_key = Bytes(33, static_cast<uint8_t>(c));
    contact.added_at = 1;
    if (!storage::ContactRepo(db).upsert(contact).is_ok()) std::exit(1);
    fingerprints.push_back(contact.fingerprint);
  }
  archive->quiet = "quiet";
  archive->quiet_fingerprint = fingerprints[0];
  archive->query = word(kQueryRank);

  std::vector<std::string> vocabulary;
  std::vector<double> cumulative;
  double total = 0;
  for (int r = 0; r < kVocabulary; ++r) {
    vocabulary.push_back(word(r));
    total += 1.0 / (r + 1);
    cumulative.push_back(total);
  }
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> uniform(0, total);
  storage::MessageRepo repo(db);
  for (int64_t first = 0; first < kMessages; first += kBatch) {
    storage::Transaction tx(db);
    if (!tx.begin_status().is_ok()) die("begin", tx.begin_status());
    for (int64_t n = first; n < first + kBatch; ++n) {
      storage::MessageRecord m;
      // Ids ascending (the author's random ids would only scatter index inserts while building).
      m.message_id = Bytes(16, 0x5a);
      for (int b = 0; b < 8; ++b) m.message_id[b] = static_cast<uint8_t>(n >> (56 - 8 * b));
      // Conversation 0 gets one message in a thousand; the others share the rest.
      const int c = n % 1000 == 500 ? 0 : 1 + static_cast<int>(random() % (kConversations - 1));
      m.conversation = fingerprints[c];
      m.outgoing = random() % 3 == 0;
      m.sender = m.outgoing ? account->fingerprint() : fingerprints[c];
      const int words = 5 + static_cast<int>(random() % 12);
      for (int w = 0; w < words; ++w) {
        const auto rank = std::lower_bound(cumulative.begin(), cumulative.end(), uniform(random)) -
                          cumulative.begin();
        if (w > 0) m.body += ' ';
        m.body += vocabulary[static_cast<size_t>(std::min<int64_t>(rank, kVocabulary - 1))];
      }
      m.sent_at = 1'700'000'000'000 + n * 1000;
      m.received_at = m.sent_at + 20;
      m.state = m.outgoing ? storage::MessageState::kDelivered : storage::MessageState::kReceived;
      must(repo.insert(m), "insert");
    }
    if (!tx.commit().is_ok()) std::exit(1);
  }
  const double took = ms_since(started);
  account.reset();  // closed: the WAL is folded into the file

  const auto header =
      must(storage::ProfileHeader::read_file(archive->dir + "/" + storage::Profile::kHeaderFile),
           "header");
  const SecretBytes key = must(storage::derive_key(pass(), header.salt, header.kdf), "key");
  archive->raw_key = "x'" + to_hex(ByteView(key.data(), key.size())) + "'";
  std::fprintf(stderr,
               "bench: archive: %lld messages archived and indexed in %.1f s (%.0f MiB); "
               "search word '%s'\n",
               static_cast<long long>(kMessages), took / 1000,
               static_cast<double>(test::read_file(archive->db_path).size()) / (1 << 20),
               archive->query.c_str());
  return archive;
}

const Archive& archive() {
  static const std::unique_ptr<Archive> built = build_archive();
  return *built;
}

std::unique_ptr<core::Account> open_account() {
  return must(core::Account::open(archive().dir, pass()), "open");
}

// --- bare SQLCipher ----------------------------------------------------------------------------

struct Bare {
  sqlite3* db = nullptr;
  ~Bare() { sqlite3_close(db); }
};

// Opened, keyed and read once, with sotto's settings: what "unlocked" means for the bare library.
std::unique_ptr<Bare> open_bare() {
  auto bare = std::make_unique<Bare>();
  bare->db = open_bare_keyed(archive().db_path, archive().raw_key, Sync::kNormal);
  return bare;
}

// Runs `sql` with `text` bound to ?1 (and ?2 = `limit`), reads every column of every row.
size_t bare_query(Bare& bare, const char* sql, const std::string& text, int64_t limit) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(bare.db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "bench: archive: bare: %s\n", sqlite3_errmsg(bare.db));
    std::exit(1);
  }
  sqlite3_bind_text(stmt, 1, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, limit);
  static volatile size_t sink = 0;  // the columns' bytes, so that reading them is not elided
  size_t rows = 0;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    ++rows;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const void* data = sqlite3_column_blob(stmt, i);
      sink = sink + static_cast<size_t>(sqlite3_column_bytes(stmt, i)) + (data != nullptr);
    }
  }
  sqlite3_finalize(stmt);
  return rows;
}

constexpr const char* kBareSearch =
    "SELECT m.id, m.message_id, m.conversation, m.sender, m.outgoing, m.kind, m.body, m.sent_at, "
    "m.received_at, m.state, snippet(message_search, '[', ']', '…', 0, 16) "
    "FROM message_search JOIN messages m ON m.id = message_search.docid "
    "WHERE message_search MATCH ?1 ORDER BY message_search.docid DESC LIMIT ?2";
constexpr const char* kBareHistory =
    "SELECT id, message_id, conversation, sender, outgoing, kind, body, sent_at, received_at, "
    "state FROM messages WHERE conversation = ?1 AND kind != 3 ORDER BY id DESC LIMIT ?2";

// Median of kRepeats runs of `timed`, each after a fresh `setup`.
template <typename T>
double median_fresh(const std::function<T()>& setup, const std::function<double(T&)>& timed) {
  std::vector<double> runs;
  for (int i = 0; i < kRepeats; ++i) {
    T state = setup();
    runs.push_back(timed(state));
  }
  return median(runs);
}

void check_count(size_t got, size_t want, const char* what) {
  if (got != want) {
    std::fprintf(stderr, "bench: archive: %s: %zu rows, expected %zu\n", what, got, want);
    std::exit(1);
  }
}

}  // namespace

double search_1m_ms() {
  const Archive& a = archive();
  return median_fresh<std::unique_ptr<core::Account>>(open_account, [&](auto& account) {
    const auto start = Stopwatch::now();
    auto hits = must(core::offline_search(*account, a.query, "", 50), "search");
    const double took = ms_since(start);
    check_count(hits.size(), 50, "search");
    return took;
  });
}

double search_1m_ms_bare() {
  const Archive& a = archive();
  return median_fresh<std::unique_ptr<Bare>>(open_bare, [&](auto& bare) {
    const auto start = Stopwatch::now();
    const size_t rows = bare_query(*bare, kBareSearch, a.query, 50);
    const double took = ms_since(start);
    check_count(rows, 50, "bare search");
    return took;
  });
}

double history_page_ms() {
  const Archive& a = archive();
  return median_fresh<std::unique_ptr<core::Account>>(open_account, [&](auto& account) {
    const auto start = Stopwatch::now();
    auto page = must(core::offline_history(*account, a.quiet, 100), "history");
    const double took = ms_since(start);
    check_count(page.size(), 100, "history");
    return took;
  });
}

double history_page_ms_bare() {
  const Archive& a = archive();
  return median_fresh<std::unique_ptr<Bare>>(open_bare, [&](auto& bare) {
    const auto start = Stopwatch::now();
    const size_t rows = bare_query(*bare, kBareHistory, a.quiet_fingerprint, 100);
    const double took = ms_since(start);
    check_count(rows, 100, "bare history");
    return took;
  });
}

double open_1m_ms() {
  const Archive& a = archive();
  std::vector<double> runs;
  for (int i = 0; i < kRepeats; ++i) {
    // The KDF alone, with the profile's own salt and parameters, then the whole unlock.
    const auto header = must(
        storage::ProfileHeader::read_file(a.dir + "/" + storage::Profile::kHeaderFile), "header");
    const auto kdf_start = Stopwatch::now();
    must(storage::derive_key(pass(), header.salt, header.kdf), "kdf");
    const double kdf = ms_since(kdf_start);
    const auto start = Stopwatch::now();
    auto account = open_account();
    runs.push_back(ms_since(start) - kdf);
  }
  return median(runs);
}

// Disappearing messages turned on for the quiet conversation (its 1,000 messages move to the
// small index, the main one is merged once), then sweeps that each delete its 50 oldest.
const ExpiryFigures& expiry_figures() {
  static const ExpiryFigures figures = [] {
    const Archive& a = archive();
    ExpiryFigures out;
    auto account = open_account();
    storage::Database& db = core::AccountInternals::db(*account);
    storage::ExpiryRepo expiry(db);
    auto start = Stopwatch::now();
    {
      storage::Transaction tx(db);
      must(tx.begin_status(), "begin");
      must(expiry.set({a.quiet_fingerprint, 1000, a.quiet_fingerprint, 1}), "expiry on");
      must(tx.commit(), "commit");
    }
    out.turn_on_ms = ms_since(start);
    // The quiet conversation's n-th message arrived at 1'700'000'000'000 + (500 + 1000 n) s.
    std::vector<double> runs;
    for (int i = 0; i < kRepeats; ++i) {
      const int64_t cutoff = 1'700'000'000'020 + (500 + 1000 * int64_t{50} * (i + 1)) * 1000;
      start = Stopwatch::now();
      storage::Transaction tx(db);
      must(tx.begin_status(), "begin");
      check_count(
          static_cast<size_t>(must(expiry.delete_before(a.quiet_fingerprint, cutoff), "delete")),
          50, "expiry sweep");
      must(storage::SearchRepo(db).forget_expired(), "forget");
      must(tx.commit(), "commit");
      must(db.checkpoint(), "checkpoint");
      runs.push_back(ms_since(start));
    }
    out.sweep_ms = median(runs);
    return out;
  }();
  return figures;
}

double open_1m_ms_bare() {
  archive();
  std::vector<double> runs;
  for (int i = 0; i < kRepeats; ++i) {
    const auto start = Stopwatch::now();
    auto bare = open_bare();
    runs.push_back(ms_since(start));
  }
  return median(runs);
}

}  // namespace sotto::bench
