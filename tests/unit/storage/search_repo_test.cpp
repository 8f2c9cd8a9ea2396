// SearchRepo (FTS4 over the archive, migrations 0006 and 0008) and what a profile verifies when it
// opens.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sotto/storage/database.h"
#include "sotto/storage/expiry_repo.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/search_repo.h"
#include "sotto/storage/voice_clip_repo.h"
#include "storage/migrations.h"
#include "tests/support/search_state.h"
#include "tests/support/sqlcipher_pages.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using sotto::test::TempDir;
using storage::MessageKind;
using storage::MessageRecord;
using storage::SearchRepo;

namespace {

constexpr size_t kPageSize = 1024;

SecretBytes test_key() {
  SecretBytes key(32);
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(i * 7 + 1);
  return key;
}

std::unique_ptr<storage::Database> create_db(const std::string& path, int64_t schema = 0) {
  auto db = storage::Database::open(path, test_key(), storage::Database::Mode::kCreate);
  REQUIRE(db.is_ok());
  REQUIRE((schema == 0 ? storage::migrate(*db.value()) : storage::migrate_to(*db.value(), schema))
              .is_ok());
  return std::move(db).value();
}

MessageRecord message(int64_t n, const std::string& conversation, const std::string& body,
                      MessageKind kind = MessageKind::kText) {
  MessageRecord m;
  m.message_id = Bytes(16, 0);
  for (int b = 0; b < 8; ++b) m.message_id[b] = static_cast<uint8_t>(n >> (8 * b));
  m.conversation = conversation;
  m.sender = conversation;
  m.kind = kind;
  m.body = body;
  m.sent_at = 1'700'000'000'000 + n;
  m.received_at = m.sent_at;
  m.state = storage::MessageState::kReceived;
  return m;
}

// Chat-like filler that never contains the test's marker words.
std::string filler(int64_t n) {
  static const char* kWords[] = {"meet", "at",    "the",   "north", "gate", "radio", "check",
                                 "noon", "bring", "spare", "cable", "ok",   "copy",  "later"};
  std::string body;
  for (int i = 0; i < 6; ++i) {
    if (i > 0) body += ' ';
    body += kWords[(n * 7 + i * 3) % 14];
  }
  return body;
}

int64_t insert(storage::Database& db, const MessageRecord& m) {
  auto row = storage::MessageRepo(db).insert(m);
  REQUIRE(row.is_ok());
  REQUIRE(row.value().has_value());
  return *row.value();
}

std::vector<int64_t> rows_of(const std::vector<storage::SearchMatch>& matches) {
  std::vector<int64_t> rows;
  for (const auto& m : matches) rows.push_back(m.message.row_id);
  return rows;
}

std::vector<int64_t> search_rows(storage::Database& db, const std::string& query,
                                 const std::string& conversation = "", int64_t limit = 50) {
  auto found = SearchRepo(db).search(query, conversation, limit);
  REQUIRE(found.is_ok());
  return rows_of(found.value());
}

void run(storage::Database& db, const std::string& sql, int64_t value) {
  auto stmt = db.prepare(sql);
  REQUIRE(stmt.is_ok());
  stmt.value()->bind(1, value);
  REQUIRE(stmt.value()->run().is_ok());
}

// The b-trees of the schema: name, table, root page.
struct Btree {
  std::string name;
  std::string table;
  int64_t root = 0;
};
std::vector<Btree> btrees(storage::Database& db) {
  auto stmt = db.prepare("SELECT name, tbl_name, rootpage FROM sqlite_master WHERE rootpage > 0");
  REQUIRE(stmt.is_ok());
  std::vector<Btree> out;
  for (;;) {
    auto row = stmt.value()->step();
    REQUIRE(row.is_ok());
    if (!row.value()) break;
    out.push_back({stmt.value()->column_text(0), stmt.value()->column_text(1),
                   stmt.value()->column_int64(2)});
  }
  stmt.value()->reset();
  return out;
}

bool is_archive(const std::string& table) {
  const auto lazy = storage::profile_open_check().lazy_tables;
  return std::find(lazy.begin(), lazy.end(), table) != lazy.end();
}

}  // namespace

TEST_CASE("search finds a marker among many messages, newest first, with its snippet",
          "[storage][search]") {
  TempDir tmp;
  auto db = create_db(tmp / "a.db");
  std::vector<int64_t> marked;
  {
    storage::Transaction tx(*db);
    REQUIRE(tx.begin_status().is_ok());
    for (int64_t n = 0; n < 5000; ++n) {
      std::string body = filler(n);
      if (n % 1000 == 17) body += " the zebracorn lands at dawn";
      const int64_t row = insert(*db, message(n, "peer-" + std::to_string(n % 5), body));
      if (n % 1000 == 17) marked.push_back(row);
    }
    REQUIRE(tx.commit().is_ok());
  }
  auto found = SearchRepo(*db).search("zebracorn", "", 50);
  REQUIRE(found.is_ok());
  const std::vector<int64_t> newest_first(marked.rbegin(), marked.rend());
  CHECK(rows_of(found.value()) == newest_first);
  const auto& top = found.value().front();
  CHECK(top.message.body.find("zebracorn") != std::string::npos);
  CHECK(top.snippet.find("[zebracorn]") != std::string::npos);
  CHECK(top.message.conversation == "peer-" + std::to_string(4017 % 5));

  SECTION("words must all occur; phrases, prefixes, OR and NOT work") {
    CHECK(search_rows(*db, "zebracorn dawn").size() == 5);
    CHECK(search_rows(*db, "\"lands at dawn\"").size() == 5);
    CHECK(search_rows(*db, "\"dawn lands\"").empty());
    CHECK(search_rows(*db, "zebra*").size() == 5);
    CHECK(search_rows(*db, "zebracorn -noon").size() <= 5);
    CHECK(search_rows(*db, "nothinglikeit OR zebracorn").size() == 5);
    CHECK(search_rows(*db, "ZEBRACORN").size() == 5);
  }
  SECTION("the limit keeps the newest hits") {
    const auto newest = search_rows(*db, "meet", "", 50);
    REQUIRE(newest.size() == 50);
    CHECK(std::is_sorted(newest.rbegin(), newest.rend()));
    const auto all = search_rows(*db, "meet", "", 1000);
    CHECK(std::equal(newest.begin(), newest.end(), all.begin()));
  }
  SECTION("a conversation filter keeps only that conversation's hits") {
    const auto in_two = search_rows(*db, "zebracorn", "peer-2");
    REQUIRE(in_two.size() == 5);  // 17, 1017, ...: n % 5 == 2 for all of them
    CHECK(search_rows(*db, "zebracorn", "peer-1").empty());
    CHECK(search_rows(*db, "zebracorn", "nobody").empty());
    for (const auto& m : SearchRepo(*db).search("meet", "peer-3", 20).value()) {
      CHECK(m.message.conversation == "peer-3");
    }
  }
}

TEST_CASE("a malformed or empty search query is InvalidArgument with a hint", "[storage][search]") {
  TempDir tmp;
  auto db = create_db(tmp / "a.db");
  insert(*db, message(1, "peer", "hello there"));
  for (const std::string query : {"\"hello", "-hello", "OR hello", "hello NEAR", "", "   "}) {
    INFO("query: " << query);
    auto found = SearchRepo(*db).search(query, "", 10);
    REQUIRE_FALSE(found.is_ok());
    CHECK(found.status().code() == StatusCode::kInvalidArgument);
    CHECK(found.status().message().find("bad search query") == 0);
  }
  // The connection is fine afterwards.
  CHECK(search_rows(*db, "hello").size() == 1);
}

TEST_CASE("only text messages are indexed; accents and case do not matter", "[storage][search]") {
  TempDir tmp;
  auto db = create_db(tmp / "a.db");
  const int64_t text = insert(*db, message(1, "peer", "Café Müller at ten"));
  insert(*db, message(2, "#chan", "alice invited müller", MessageKind::kSystem));
  insert(*db, message(3, "#chan", "voice clip müller", MessageKind::kVoice));
  insert(*db, message(4, "peer", "roster müller", MessageKind::kControl));
  CHECK(search_rows(*db, "muller") == std::vector<int64_t>{text});
  CHECK(search_rows(*db, "CAFE") == std::vector<int64_t>{text});
  // A resend of the same message is not archived, nor indexed, twice.
  auto again = storage::MessageRepo(*db).insert(message(1, "peer", "Café Müller at ten"));
  REQUIRE(again.is_ok());
  CHECK_FALSE(again.value().has_value());
  CHECK(search_rows(*db, "cafe").size() == 1);
}

TEST_CASE("deleted messages vanish from the index, whoever deletes them", "[storage][search]") {
  TempDir tmp;
  auto db = create_db(tmp / "a.db");
  std::vector<int64_t> rows;
  for (int64_t n = 0; n < 200; ++n) {
    rows.push_back(insert(*db, message(n, n < 100 ? "old" : "new", filler(n) + " marker")));
  }
  REQUIRE(search_rows(*db, "marker", "", 1000).size() == 200);

  // As disappearing messages do: a plain DELETE on the archive (the trigger keeps up).
  run(*db, "DELETE FROM messages WHERE conversation = 'old' AND id > ?1", 0);
  const auto left = search_rows(*db, "marker", "", 1000);
  CHECK(left.size() == 100);
  for (int64_t row : left) CHECK(row > rows[99]);
  CHECK(search_rows(*db, "marker", "old").empty());

  // The newest row deleted, its row id used again by another message: no stale hit.
  run(*db, "DELETE FROM messages WHERE id = ?1", rows.back());
  const int64_t reused = insert(*db, message(1000, "new", "entirely different words"));
  CHECK(reused == rows.back());  // SQLite reuses the largest row id
  CHECK(search_rows(*db, "marker", "", 1000).size() == 99);
  CHECK(search_rows(*db, "entirely") == std::vector<int64_t>{reused});

  // A body changed in place is found by its new words only.
  auto update = db->prepare("UPDATE messages SET body = 'rewritten text' WHERE id = ?1");
  REQUIRE(update.is_ok());
  update.value()->bind(1, reused);
  REQUIRE(update.value()->run().is_ok());
  CHECK(search_rows(*db, "entirely").empty());
  CHECK(search_rows(*db, "rewritten") == std::vector<int64_t>{reused});

  // Merging the index keeps what is left, and only that.
  REQUIRE(SearchRepo(*db).optimize().is_ok());
  CHECK(search_rows(*db, "marker", "", 1000).size() == 99);
}

TEST_CASE(
    "disappearing messages are indexed apart: found by every search, and once expired no word "
    "of them is left in the file",
    "[storage][search]") {
  TempDir tmp;
  const std::string path = tmp / "a.db";
  auto db = create_db(path);
  const SecretBytes key = test_key();
  auto in_file = [&](const std::string& word) {
    return test::occurrences_in_database(path, key.view(), word);
  };
  auto set_expiry = [&](int64_t expire_ms) {
    storage::Transaction tx(*db);
    REQUIRE(tx.begin_status().is_ok());
    REQUIRE(storage::ExpiryRepo(*db).set({"fleeting", expire_ms, "me", 1}).is_ok());
    REQUIRE(tx.commit().is_ok());
  };
  // Two conversations, interleaved; more than one index batch of each.
  for (int64_t n = 0; n < 600; ++n) {
    insert(*db, n % 2 == 0 ? message(n, "kept", filler(n) + " keepsake shared")
                           : message(n, "fleeting", filler(n) + " zanzibarq shared"));
  }
  REQUIRE(search_rows(*db, "zanzibarq", "", 1000).size() == 300);
  // And a voice clip, its packets long enough to need overflow pages.
  const std::string opus_marker = "opus-packets-of-a-fleeting-clip";
  storage::VoiceClipRecord clip;
  clip.message_row = insert(*db, message(650, "fleeting", "voice", MessageKind::kVoice));
  clip.channel_id = clip.transmission_id = clip.talker_key = clip.signature = Bytes(16, 1);
  for (int i = 0; i < 100; ++i)
    clip.packets.insert(clip.packets.end(), opus_marker.begin(), opus_marker.end());
  REQUIRE(storage::VoiceClipRepo(*db).insert(clip).is_ok());

  // On: the conversation's messages move to the other index; searches find them as before, and
  // results from both indexes come newest first.
  set_expiry(1000);
  insert(*db, message(600, "fleeting", "zanzibarq after the change"));
  CHECK(search_rows(*db, "zanzibarq", "", 1000).size() == 301);
  CHECK(search_rows(*db, "zanzibarq", "fleeting", 1000).size() == 301);
  CHECK(search_rows(*db, "zanzibarq", "kept", 1000).empty());
  const auto shared = search_rows(*db, "shared", "", 10);
  REQUIRE(shared.size() == 10);
  CHECK(std::is_sorted(shared.rbegin(), shared.rend()));
  CHECK(shared.front() == 600);  // the newest "shared" message of all (row ids count from 1)
  CHECK(in_file("zanzibarq") > 0);
  CHECK(in_file(opus_marker) > 90);  // a few straddle overflow pages

  // The sweep: deleted, the small index merged, the log checkpointed. Not one copy is left.
  {
    storage::Transaction tx(*db);
    REQUIRE(tx.begin_status().is_ok());
    auto deleted = storage::ExpiryRepo(*db).delete_before("fleeting", 1'800'000'000'000);
    REQUIRE(deleted.is_ok());
    CHECK(deleted.value() == 302);
    REQUIRE(SearchRepo(*db).forget_expired().is_ok());
    REQUIRE(tx.commit().is_ok());
  }
  REQUIRE(db->checkpoint().is_ok());
  CHECK(search_rows(*db, "zanzibarq", "", 1000).empty());
  CHECK(in_file("zanzibarq") == 0);
  CHECK(in_file(opus_marker) == 0);
  CHECK(in_file("keepsake") > 0);  // the file was read and decrypted
  CHECK(search_rows(*db, "keepsake", "", 1000).size() == 300);

  // Off: new messages of the conversation go to the main index and are found.
  insert(*db, message(700, "fleeting", "zanzibarq kept from now on"));
  set_expiry(0);
  CHECK(search_rows(*db, "zanzibarq", "fleeting") == search_rows(*db, "kept from now on"));
  CHECK(search_rows(*db, "zanzibarq").size() == 1);
}

TEST_CASE("new messages are indexed in batches, and a search sees them all at once",
          "[storage][search]") {
  TempDir tmp;
  auto db = create_db(tmp / "a.db");
  auto pending = [&] { return test::unindexed_messages(*db); };
  // One message per transaction, as they arrive: the index waits for a batch.
  for (int64_t n = 0; n < SearchRepo::kIndexBatch - 1; ++n) {
    insert(*db, message(n, "peer", "batch word " + std::to_string(n)));
  }
  CHECK(pending() == SearchRepo::kIndexBatch - 1);
  insert(*db, message(SearchRepo::kIndexBatch, "peer", "the batch fills up"));
  CHECK(pending() == 0);
  insert(*db, message(SearchRepo::kIndexBatch + 1, "peer", "one more batch word"));
  CHECK(pending() == 1);
  // A search indexes what is pending first.
  CHECK(search_rows(*db, "batch", "", 2 * SearchRepo::kIndexBatch).size() ==
        static_cast<size_t>(SearchRepo::kIndexBatch + 1));
  CHECK(pending() == 0);
  // Inside a caller's transaction the catch-up is part of it: rolled back with it.
  {
    storage::Transaction tx(*db);
    REQUIRE(tx.begin_status().is_ok());
    insert(*db, message(SearchRepo::kIndexBatch + 2, "peer", "rolled back batch"));
    REQUIRE(SearchRepo(*db).catch_up().is_ok());
  }
  CHECK(search_rows(*db, "rolled").empty());
  CHECK(pending() == 0);
}

TEST_CASE("row ids used again after the newest messages are deleted are indexed again",
          "[storage][search]") {
  TempDir tmp;
  auto db = create_db(tmp / "a.db");
  std::vector<int64_t> rows;
  for (int64_t n = 0; n < 10; ++n) rows.push_back(insert(*db, message(n, "peer", "old words")));
  REQUIRE(search_rows(*db, "old").size() == 10);  // all indexed now
  // The two newest go, the older of them first; SQLite hands their ids out again.
  run(*db, "DELETE FROM messages WHERE id = ?1", rows[8]);
  run(*db, "DELETE FROM messages WHERE id = ?1", rows[9]);
  const int64_t again = insert(*db, message(100, "peer", "new words"));
  CHECK(again == rows[8]);
  CHECK(search_rows(*db, "new") == std::vector<int64_t>{again});
  CHECK(search_rows(*db, "old").size() == 8);
}

TEST_CASE("upgrading to schema 6 indexes the text already archived", "[storage][search]") {
  TempDir tmp;
  const std::string path = tmp / "old.db";
  {
    // As sotto left a profile before search existed: no index, messages written directly.
    auto db = create_db(path, 5);
    auto insert_old = db->prepare(
        "INSERT INTO messages (message_id, conversation, sender, outgoing, kind, body, sent_at, "
        "received_at, state) VALUES (?1, 'peer', 'peer', 0, ?2, ?3, 1, 1, 3)");
    REQUIRE(insert_old.is_ok());
    for (int64_t n = 0; n < 300; ++n) {
      Bytes unique(16, static_cast<uint8_t>(n));
      unique[1] = static_cast<uint8_t>(n >> 8);
      insert_old.value()->bind(1, ByteView(unique)).bind(2, n % 3 == 0 ? int64_t{1} : int64_t{0});
      insert_old.value()->bind(3, filler(n) + (n == 124 ? " needle" : ""));
      REQUIRE(insert_old.value()->run().is_ok());
    }
  }
  auto db = storage::Database::open(path, test_key(), storage::Database::Mode::kOpenExisting);
  REQUIRE(db.is_ok());
  REQUIRE(storage::migrate(*db.value()).is_ok());
  CHECK(search_rows(*db.value(), "needle").size() == 1);
  // System rows (n % 3 == 0) were not indexed: 200 of the 300 are text.
  CHECK(search_rows(*db.value(),
                    "meet OR at OR the OR north OR gate OR radio OR check OR noon "
                    "OR bring OR spare OR cable OR ok OR copy OR later",
                    "", 1000)
            .size() == 200);
  // And new messages go on being indexed after the upgrade.
  insert(*db.value(), message(9999, "peer", "fresh needle"));
  CHECK(search_rows(*db.value(), "needle").size() == 2);
}

TEST_CASE("upgrading to schema 8 moves conversations that expire to their own index",
          "[storage][search]") {
  TempDir tmp;
  const std::string path = tmp / "old.db";
  {
    auto db = create_db(path, 7);
    for (int64_t n = 0; n < 40; ++n) {
      insert(*db, message(n, n % 2 == 0 ? "kept" : "fleeting", filler(n) + " quillwort"));
    }
    // Indexed as schema 7 did, all in one index.
    REQUIRE(db->exec_script("INSERT INTO message_search (docid, body) SELECT id, body FROM "
                            "messages; UPDATE message_search_state SET indexed_through = "
                            "(SELECT max(id) FROM messages);")
                .is_ok());
    run(*db, "INSERT INTO expiry VALUES ('fleeting', ?1, 'me', 1)", 1000);
  }
  auto db = storage::Database::open(path, test_key(), storage::Database::Mode::kOpenExisting);
  REQUIRE(db.is_ok());
  REQUIRE(storage::migrate(*db.value()).is_ok());
  CHECK(search_rows(*db.value(), "quillwort", "", 100).size() == 40);
  CHECK(search_rows(*db.value(), "quillwort", "fleeting", 100).size() == 20);
  // Deleted by the sweep, nothing of them is left in the main index either.
  run(*db.value(), "DELETE FROM messages WHERE conversation = 'fleeting' AND id > ?1", 0);
  REQUIRE(SearchRepo(*db.value()).forget_expired().is_ok());
  REQUIRE(db.value()->checkpoint().is_ok());
  CHECK(search_rows(*db.value(), "quillwort", "", 100).size() == 20);
  auto main_index = db.value()->prepare(
      "SELECT count(*) FROM message_search WHERE message_search MATCH 'quillwort'");
  REQUIRE(main_index.is_ok());
  REQUIRE(main_index.value()->step().value());
  CHECK(main_index.value()->column_int64(0) == 20);
  main_index.value()->reset();
}

TEST_CASE("history pages and export pages read a conversation through its index",
          "[storage][archive]") {
  TempDir tmp;
  auto db = create_db(tmp / "a.db");
  {
    storage::Transaction tx(*db);
    REQUIRE(tx.begin_status().is_ok());
    for (int64_t n = 0; n < 3000; ++n) {
      insert(*db, message(n, n % 100 == 0 ? "quiet" : "busy", filler(n)));
    }
    REQUIRE(tx.commit().is_ok());
  }
  storage::MessageRepo repo(*db);
  auto page = repo.recent("quiet", 10);
  REQUIRE(page.is_ok());
  REQUIRE(page.value().size() == 10);
  CHECK(page.value().back().sent_at == 1'700'000'000'000 + 2900);
  CHECK(page.value().front().sent_at == 1'700'000'000'000 + 2000);
  auto all = repo.recent("", 5);
  REQUIRE(all.is_ok());
  CHECK(all.value().back().sent_at == 1'700'000'000'000 + 2999);

  int64_t cursor = 0;
  int64_t seen = 0;
  for (;;) {
    auto next = repo.page_after(cursor, "quiet", 7);
    REQUIRE(next.is_ok());
    if (next.value().empty()) break;
    for (const auto& m : next.value()) CHECK(m.conversation == "quiet");
    seen += static_cast<int64_t>(next.value().size());
    cursor = next.value().back().row_id;
  }
  CHECK(seen == 30);
  auto span = repo.row_span();
  REQUIRE(span.is_ok());
  CHECK(span.value().second - span.value().first == 2999);

  auto plan = db->prepare(
      "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE conversation = ?1 AND kind != 3 "
      "ORDER BY id DESC LIMIT ?2");
  REQUIRE(plan.is_ok());
  REQUIRE(plan.value()->step().value());
  CHECK(plan.value()->column_text(3).find("messages_by_conversation") != std::string::npos);
  plan.value()->reset();
}

TEST_CASE(
    "a large profile is checked whole at open except its archive, which is checked as it is read",
    "[storage][profile]") {
  TempDir tmp;
  const std::string path = tmp / "a.db";
  std::vector<Btree> trees;
  {
    auto db = create_db(path);
    for (int64_t n = 0; n < 400; ++n) insert(*db, message(n, "peer", filler(n) + " findme"));
    auto counter = db->prepare("INSERT INTO counters (name, value) VALUES ('x', ?1)");
    REQUIRE(counter.is_ok());
    counter.value()->bind(1, int64_t{1});
    REQUIRE(counter.value()->run().is_ok());
    trees = btrees(*db);
  }
  const Bytes original = test::read_file(path);
  // What Profile::open uses, as if this database were past the whole-file threshold.
  storage::OpenCheck large = storage::profile_open_check();
  large.full_check_max_pages = 0;
  auto open_large = [&] {
    return storage::Database::open(path, test_key(), storage::Database::Mode::kOpenExisting, large);
  };
  REQUIRE(open_large().is_ok());

  auto damage_page = [&](int64_t page) {
    Bytes damaged = original;
    damaged[static_cast<size_t>(page - 1) * kPageSize + kPageSize / 2] ^= 0x10;
    test::write_file(path, damaged);
  };

  SECTION("damage in any table or index outside the archive is found at open") {
    int checked = 0;
    for (const Btree& tree : trees) {
      if (is_archive(tree.table)) continue;
      INFO(tree.name << " (root page " << tree.root << ")");
      damage_page(tree.root);
      auto opened = open_large();
      REQUIRE_FALSE(opened.is_ok());
      CHECK(opened.status().code() == StatusCode::kCorruption);
      CHECK(opened.status().message() == "database corrupt");
      ++checked;
    }
    CHECK(checked > 15);  // identity, Signal, contacts, outbox, channels, expiry, the index root
    damage_page(1);       // the schema
    CHECK(open_large().status().code() == StatusCode::kCorruption);
  }
  SECTION("damage in the archive shows as 'database corrupt' when that page is read") {
    for (const Btree& tree : trees) {
      if (tree.name != "messages" && tree.name != "message_search_segdir") continue;
      INFO(tree.name);
      damage_page(tree.root);
      if (tree.name == "message_search_segdir") {
        CHECK(open_large().status().code() == StatusCode::kCorruption);  // the index's root
        continue;
      }
      auto opened = open_large();
      REQUIRE(opened.is_ok());  // not read at open
      auto page = storage::MessageRepo(*opened.value()).recent("peer", 10);
      REQUIRE_FALSE(page.is_ok());
      CHECK(page.status().code() == StatusCode::kCorruption);
      CHECK(page.status().message() == "database corrupt");
      auto found = SearchRepo(*opened.value()).search("findme", "", 10);
      REQUIRE_FALSE(found.is_ok());
      CHECK(found.status().code() == StatusCode::kCorruption);
    }
  }
  SECTION("below the threshold the whole file is checked, archive included") {
    for (const Btree& tree : trees) {
      if (tree.name != "messages") continue;
      damage_page(tree.root);
      auto opened = storage::Database::open(
          path, test_key(), storage::Database::Mode::kOpenExisting, storage::profile_open_check());
      REQUIRE_FALSE(opened.is_ok());
      CHECK(opened.status().code() == StatusCode::kCorruption);
    }
  }
}
