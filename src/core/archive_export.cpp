#include "src/core/archive_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "sotto/base/clock.h"
#include "sotto/base/display_text.h"
#include "sotto/base/duration.h"
#include "sotto/core/json.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/search_repo.h"
#include "sotto/storage/voice_clip_repo.h"
#include "sotto/voice/wav.h"
#include "src/core/account_internals.h"
#include "src/core/clip_player.h"
#include "src/core/voice_clip_content.h"

namespace sotto::core {
namespace {

Status io_error(const std::string& what, const std::string& path, int error) {
  return Status::io_error(what + " " + path + ": " + std::strerror(error));
}

Status write_all(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSPC) return Status::storage_full("storage full: writing " + path);
      return io_error("writing", path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::ok();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Continuation lines of a multi-line body, indented under their message.
std::string indented(const std::string& body) {
  std::string out;
  for (char c : body) {
    out += c;
    if (c == '\n') out += "    ";
  }
  return out;
}

// One line of the text export, as `sotto history` shows a message, with its conversation. The
// file is read with cat and less: what peers chose (names, bodies) goes in neutralised, their
// line breaks kept but indented so that none starts a record (the JSON export keeps them raw).
std::string text_line(const MessageInfo& m, const std::string& label, const std::string& clip) {
  const std::string body = indented(display_text(m.body, LineBreaks::kKeep));
  std::string line = local_time_text(m.sent_at) + "  " + display_text(label) + "  ";
  if (m.kind == MessageKind::kSystem) return line + "* " + body + "\n";
  line += (m.outgoing ? std::string("me") : display_text(m.sender_name)) + ": " + body + "  [" +
          std::string(to_string(m.state)) + "]";
  if (!clip.empty()) line += "  " + clip;
  return line + "\n";
}

}  // namespace

Result<std::vector<SearchHit>> search_archive(Messenger& messenger, Account& account,
                                              const std::string& query, const std::string& in,
                                              int64_t limit) {
  if (limit < 1 || limit > kMaxSearchLimit) {
    return Status::invalid_argument("the limit must be between 1 and " +
                                    std::to_string(kMaxSearchLimit));
  }
  SOTTO_ASSIGN_OR_RETURN(std::string conversation, messenger.conversation_key(in));
  SOTTO_ASSIGN_OR_RETURN(
      auto matches,
      storage::SearchRepo(AccountInternals::db(account)).search(query, conversation, limit));
  std::vector<storage::MessageRecord> rows;
  rows.reserve(matches.size());
  for (const auto& match : matches) rows.push_back(match.message);
  std::vector<std::string> labels;
  SOTTO_ASSIGN_OR_RETURN(auto infos, messenger.describe(rows, &labels));
  std::vector<SearchHit> hits;
  hits.reserve(matches.size());
  for (size_t i = 0; i < matches.size(); ++i) {
    hits.push_back({std::move(infos[i]), std::move(labels[i]), std::move(matches[i].snippet)});
  }
  return hits;
}

// --- export ------------------------------------------------------------------------------------

Result<std::unique_ptr<ArchiveExport>> ArchiveExport::begin(Messenger& messenger, Account& account,
                                                            const ExportOptions& options) {
  const std::string& out = options.out;
  if (out.empty()) return Status::invalid_argument("no export file given (--out FILE)");
  if (out.back() == '/') return Status::invalid_argument(out + " is a directory, not a file");
  struct stat st {};
  if (::stat(out.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::invalid_argument(out + " is a directory, not a file");
  }
  if (!options.force) {
    for (const std::string& path : {out, out + ".voice"}) {
      if (exists(path)) {
        return Status::invalid_argument(path + " exists; add --force to overwrite it");
      }
    }
  }
  std::unique_ptr<ArchiveExport> job(new ArchiveExport(messenger, account, options));
  SOTTO_ASSIGN_OR_RETURN(job->conversation_, messenger.conversation_key(options.in));
  SOTTO_ASSIGN_OR_RETURN(auto span, storage::MessageRepo(AccountInternals::db(account)).row_span());
  job->first_row_ = span.first;
  job->last_row_ = span.second;
  job->cursor_ = span.first - 1;

  // Beside FILE under a temporary name, owner-only from the start (mkstemp creates 0600).
  std::string temp = out + ".XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return io_error("cannot create", out, errno);
  job->fd_ = fd;
  job->temp_path_ = temp;
  job->summary_.file = out;

  if (options.format == ExportFormat::kText) {
    std::string header = "# sotto archive of " + account.name() + " (" +
                         account.fingerprint().substr(0, 16) + "), exported " +
                         local_time_text(messenger.clock().wall_ms()) + ": ";
    header += options.in.empty() ? "all conversations" : "conversation " + options.in;
    if (options.since_ms) header += ", messages since " + local_time_text(*options.since_ms);
    SOTTO_RETURN_IF_ERROR(job->write_out(header + "\n"));
  }
  return job;
}

ArchiveExport::~ArchiveExport() {
  if (fd_ >= 0) ::close(fd_);
  if (done_) return;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  for (const auto& clip : clip_files_) ::unlink(clip.c_str());
  if (made_voice_dir_) ::rmdir((options_.out + ".voice").c_str());
}

Status ArchiveExport::write_out(const std::string& text) {
  return write_all(fd_, text.data(), text.size(), options_.out);
}

// Writes the clip of message row `row` to FILE.voice/ID.opus or ID.wav (0600); its path relative
// to FILE's directory, or "" when the archive holds no clip for it.
Result<std::string> ArchiveExport::export_clip(const MessageInfo& message, int64_t row) {
  SOTTO_ASSIGN_OR_RETURN(auto clip,
                         storage::VoiceClipRepo(AccountInternals::db(account_)).find(row));
  if (!clip) return std::string();
  const std::string dir = options_.out + ".voice";
  if (!made_voice_dir_ && summary_.voice_dir.empty()) {
    if (::mkdir(dir.c_str(), 0700) == 0) {
      made_voice_dir_ = true;
    } else if (errno != EEXIST) {
      return io_error("cannot create", dir, errno);
    } else if (::chmod(dir.c_str(), 0700) != 0) {  // --force over an older export's directory
      return io_error("cannot make private", dir, errno);
    }
    summary_.voice_dir = dir;
  }
  Bytes file;
  std::string name = message.id;
  if (options_.voice == VoiceFileFormat::kWav) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<int16_t> pcm, decode_clip(*clip));
    SOTTO_ASSIGN_OR_RETURN(file, voice::encode_wav(pcm));
    name += ".wav";
  } else {
    ArchivedClip archived{message, std::move(*clip), false};
    archived.signature_valid = clip_signature_valid(archived.clip);
    SOTTO_ASSIGN_OR_RETURN(file, encode_ogg_clip(archived));
    name += ".opus";  // RFC 7845 §9
  }
  const std::string path = dir + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", path, errno);
  clip_files_.push_back(path);
  Status written = ::fchmod(fd, 0600) == 0 ? Status::ok() : io_error("cannot chmod", path, errno);
  if (written.is_ok()) {
    written = write_all(fd, reinterpret_cast<const char*>(file.data()), file.size(), path);
  }
  if (written.is_ok() && ::fsync(fd) != 0) written = io_error("syncing", path, errno);
  ::close(fd);
  SOTTO_RETURN_IF_ERROR(written);
  ++summary_.voice_clips;
  return base_name(options_.out) + ".voice/" + name;
}

Result<bool> ArchiveExport::step(int64_t max_messages) {
  if (done_) return true;
  SOTTO_ASSIGN_OR_RETURN(
      auto rows, storage::MessageRepo(AccountInternals::db(account_))
                     .page_after(cursor_, conversation_, std::max<int64_t>(max_messages, 1)));
  // Only what was archived when the export began.
  while (!rows.empty() && rows.back().row_id > last_row_) rows.pop_back();
  if (rows.empty()) {
    SOTTO_RETURN_IF_ERROR(finish());
    return true;
  }
  const int64_t page_end = rows.back().row_id;
  std::vector<storage::MessageRecord> wanted;
  for (auto& r : rows) {
    if (!options_.since_ms || r.sent_at >= *options_.since_ms) wanted.push_back(std::move(r));
  }
  std::vector<std::string> labels;
  SOTTO_ASSIGN_OR_RETURN(auto infos, messenger_.describe(wanted, &labels));
  std::string text;
  for (size_t i = 0; i < infos.size(); ++i) {
    const MessageInfo& m = infos[i];
    std::string clip;
    if (m.kind == MessageKind::kVoice) {
      SOTTO_ASSIGN_OR_RETURN(clip, export_clip(m, wanted[i].row_id));
    }
    if (options_.format == ExportFormat::kText) {
      text += text_line(m, labels[i], clip);
    } else {
      nlohmann::json object = message_object(m);
      object["conversation_name"] = labels[i];
      if (m.kind == MessageKind::kVoice) {
        object[options_.voice == VoiceFileFormat::kWav ? "wav" : "ogg"] =
            clip.empty() ? nlohmann::json() : nlohmann::json(clip);
      }
      // Text that is not valid UTF-8 (it came from a peer) is kept readable rather than refused.
      text += object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
  }
  SOTTO_RETURN_IF_ERROR(write_out(text));
  cursor_ = page_end;
  summary_.messages += static_cast<int64_t>(infos.size());
  progress_.messages = summary_.messages;
  progress_.voice_clips = summary_.voice_clips;
  const int64_t span = last_row_ - first_row_ + 1;
  progress_.fraction = span > 0 ? static_cast<double>(cursor_ - first_row_ + 1) / span : 1.0;
  return false;
}

Status ArchiveExport::finish() {
  if (::fsync(fd_) != 0) return io_error("syncing", options_.out, errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return io_error("writing", options_.out, errno);
  // Checked again: FILE may have appeared while the export ran.
  if (!options_.force && exists(options_.out)) {
    return Status::invalid_argument(options_.out + " exists; add --force to overwrite it");
  }
  if (::rename(temp_path_.c_str(), options_.out.c_str()) != 0) {
    return io_error("cannot write", options_.out, errno);
  }
  done_ = true;
  progress_.fraction = 1.0;
  progress_.messages = summary_.messages;
  progress_.voice_clips = summary_.voice_clips;
  return Status::ok();
}

Result<ExportSummary> run_export(Messenger& messenger, Account& account,
                                 const ExportOptions& options,
                                 const std::function<void(const ExportProgress&)>& progress) {
  SOTTO_ASSIGN_OR_RETURN(auto job, ArchiveExport::begin(messenger, account, options));
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool done, job->step(kExportPageMessages));
    if (progress) progress(job->progress());
    if (done) return job->summary();
  }
}

// --- formats -----------------------------------------------------------------------------------

std::optional<ExportFormat> export_format_named(const std::string& name) {
  if (name == "json") return ExportFormat::kJson;
  if (name == "text") return ExportFormat::kText;
  return std::nullopt;
}

const char* export_format_name(ExportFormat format) {
  return format == ExportFormat::kText ? "text" : "json";
}

std::optional<VoiceFileFormat> voice_file_format_named(const std::string& name) {
  if (name == "ogg") return VoiceFileFormat::kOgg;
  if (name == "wav") return VoiceFileFormat::kWav;
  return std::nullopt;
}

}  // namespace sotto::core
