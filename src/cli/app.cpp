#include "src/cli/app.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "sotto/base/display_text.h"
#include "sotto/core/config.h"
#include "sotto/core/profile_dir.h"
#include "src/cli/commands.h"
#include "src/cli/version.h"

namespace sotto::cli {
namespace {

void add_node_options(CLI::App* app, NodeArgs& args) {
  app->add_option("--listen", args.listen, "ROUTER endpoint, tcp://ADDRESS:PORT (port 0: any)");
  app->add_option("--interface", args.interface, "network interface for discovery and listening");
  app->add_option("--peer", args.peers, "a peer by hand: tcp://HOST:PORT[#KEY] (repeatable)");
  app->add_flag("--no-discovery", args.no_discovery, "no UDP broadcast beacons");
  app->add_option("--beacon-port", args.beacon_port, "UDP port of broadcast beacons (47474)")
      ->check(CLI::Range(1, 65535));
  app->add_option("--voice-port", args.voice_port,
                  "UDP port for live voice, to open in a firewall (default: any free port)")
      ->check(CLI::Range(1, 65535));
  app->add_option("--beacon-interval", args.beacon_interval_ms,
                  "ms between our beacons at start and after a change (1000)")
      ->check(CLI::Range(10, 600'000));
  app->add_option("--beacon-interval-max", args.beacon_interval_max_ms,
                  "ms between our beacons once the LAN is quiet (30000)")
      ->check(CLI::Range(10, 600'000));
  app->add_option("--link-idle", args.link_idle_ms,
                  "ms before an unused link to a stranger is closed (30000)")
      ->check(CLI::Range(10, 3'600'000));
  app->add_option("--network-key-file", args.network_key_file,
                  "seal beacons with a key from this shared file of 32+ random bytes");
  app->add_option("--audio-in", args.audio_in, "capture device (name or index) or FILE.wav");
  app->add_option("--audio-out", args.audio_out,
                  "playback device, FILE.wav (everything heard) or DIR (a WAV per transmission)");
}

}  // namespace

int run(int argc, char** argv) {
  remember_invocation(argc, argv);
  CLI::App app{"sotto: end-to-end encrypted text and push-to-talk voice for isolated LANs"};
  // Called only when asked: finding the library versions opens a database.
  app.set_version_flag(
      "--version", [] { return version_text(); },
      "sotto's version and the library versions it runs with");
  app.require_subcommand(0, 1);
  app.fallthrough();

  GlobalOptions options;
  app.add_option("--profile", options.profile_dir,
                 "profile directory (default: " + core::default_profile_dir() + ")");
  app.add_option("--passphrase-file", options.passphrase.file,
                 "read the passphrase from FILE (first line)");
  app.add_option("--passphrase-fd", options.passphrase.fd,
                 "read the passphrase from file descriptor N")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--json", options.json, "machine output: one JSON object per line");
  app.add_flag("--locked", options.start_locked, "start locked (what `sotto lock` leaves)")
      ->group("");
  // `sotto [NODE OPTIONS]` runs the terminal UI with the node in-process.
  NodeArgs node_args;
  add_node_options(&app, node_args);

  std::string name;
  std::string kdf_name = "moderate";
  CLI::App* init =
      app.add_subcommand("init", "create a profile (identity, keys, encrypted database)");
  init->add_option("--name", name, "your name as peers will see it")->required();
  init->add_option("--kdf", kdf_name, "passphrase hardening: interactive, moderate or sensitive")
      ->check(CLI::IsMember({"interactive", "moderate", "sensitive"}));

  CLI::App* lock =
      app.add_subcommand("lock", "close the database and wipe keys from the running node");
  CLI::App* unlock = app.add_subcommand("unlock", "unlock the running node (asks the passphrase)");
  CLI::App* id = app.add_subcommand("id", "own name, fingerprint, transport key and endpoint");
  bool wipe_yes = false;
  CLI::App* wipe = app.add_subcommand("wipe", "destroy the profile irreversibly (asks first)");
  wipe->add_flag("--yes", wipe_yes, "no question asked (for scripts)");

  std::string new_passphrase_file;
  CLI::App* passwd = app.add_subcommand("passwd", "change the passphrase (re-key the database)");
  passwd->add_option("--new-passphrase-file", new_passphrase_file,
                     "read the new passphrase from FILE");

  CLI::App* daemon = app.add_subcommand("daemon", "run the node headless; serves control.sock");
  add_node_options(daemon, node_args);
  daemon->add_flag("--mailbox", node_args.serve_mailbox,
                   "also serve as a mailbox: hold users' mail while they are away");
  daemon
      ->add_option("--mailbox-quota", node_args.mailbox_quota_mib,
                   "MiB a mailbox holds per user (32)")
      ->check(CLI::Range(int64_t{1}, core::kMaxMailboxQuotaMib));
  CLI::App* peers = app.add_subcommand("peers", "discovered and known peers (asks the node)");
  CLI::App* events = app.add_subcommand("events", "stream the node's events until interrupted");
  CLI::App* stats = app.add_subcommand("stats", "the node's counters (drops, handshakes, ...)");

  std::string peer, contact_name, to, text;
  bool confirm = false;
  int64_t limit = 50;
  CLI::App* add =
      app.add_subcommand("add", "make a peer a contact (fetch its bundle, start a session)");
  add->add_option("PEER", peer, "fingerprint prefix or name of a nearby peer")->required();
  add->add_option("--name", contact_name, "what to call the contact");
  CLI::App* verify =
      app.add_subcommand("verify", "show the safety number; --confirm marks verified");
  verify->add_option("PEER", to, "contact name or fingerprint prefix")->required();
  verify->add_flag("--confirm", confirm, "the numbers matched: mark the contact verified");
  std::string replaced, replacement;
  CLI::App* replace = app.add_subcommand(
      "replace", "give OLD's name to the verified contact NEW (OLD reinstalled with a new key)");
  replace->add_option("OLD", replaced, "the contact whose key is gone")->required();
  replace
      ->add_option("NEW", replacement, "its new identity: a verified contact (fingerprint prefix)")
      ->required();
  CLI::App* send = app.add_subcommand("send", "send a text (TEXT '-' reads it from stdin)");
  send->add_option("TO", to, "contact name, fingerprint prefix or #channel")->required();
  send->add_option("TEXT", text, "the message, or - for stdin")->required();
  CLI::App* history = app.add_subcommand(
      "history", "archived messages, oldest first: the newest 50 unless --limit says otherwise");
  history->add_option("TO", to, "only this conversation");
  history->add_option("--limit", limit, "at most N messages, the newest (default 50)")
      ->check(CLI::PositiveNumber);
  CLI::App* contacts = app.add_subcommand("contacts", "contacts with trust and online state");

  std::string query;
  std::string search_in;
  int64_t search_limit = 50;
  CLI::App* search = app.add_subcommand("search", "full-text search of the archive, newest first");
  search->add_option("QUERY", query, "words (all must occur), \"a phrase\", pre*, a OR b, -not")
      ->required();
  search->add_option("--in", search_in, "only this conversation (contact or #channel)");
  search->add_option("--limit", search_limit, "at most N messages (default 50)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  ExportArgs export_args;
  CLI::App* export_cmd =
      app.add_subcommand("export", "write the archive to a plaintext file (and the voice clips)");
  export_cmd->add_option("--out", export_args.out, "the file to write (created 0600)")->required();
  export_cmd->add_option("--format", export_args.format, "json (one object per line) or text")
      ->check(CLI::IsMember({"json", "text"}));
  export_cmd->add_option("--in", export_args.in, "only this conversation (contact or #channel)");
  export_cmd->add_option("--since", export_args.since,
                         "only messages sent since DATE (YYYY-MM-DD [HH:MM], local time)");
  export_cmd->add_flag("--force", export_args.force, "overwrite FILE if it exists");
  export_cmd
      ->add_option("--voice", export_args.voice,
                   "voice clips as ogg (Ogg Opus, the default) or wav (decoded)")
      ->check(CLI::IsMember({"ogg", "wav"}));

  ChannelArgs channel_args;
  std::string& channel_name = channel_args.name;
  CLI::App* channel = app.add_subcommand("channel", "channels: create, invite, remove, leave, ...");
  channel->require_subcommand(1);
  CLI::App* channel_create = channel->add_subcommand("create", "a new channel; you are its admin");
  channel_create->add_option("NAME", channel_name, "the channel's name")->required();
  channel_create->add_flag("--open", channel_args.open,
                           "admit unverified contacts too (default: verified only)");
  channel_create->add_flag("--free", channel_args.free_voice,
                           "voice: talkers may overlap and are mixed (default: one at a time)");
  channel_create
      ->add_option("--members", channel_args.peers,
                   "A,B,...: contacts (names or fingerprint prefixes) in from the start")
      ->delimiter(',');
  CLI::App* channel_invite =
      channel->add_subcommand("invite", "add contacts, all in one roster change (admin only)");
  channel_invite->add_option("NAME", channel_name, "the channel")->required();
  channel_invite->add_option("PEER", channel_args.peers, "contact names or fingerprint prefixes")
      ->required();
  CLI::App* channel_remove = channel->add_subcommand("remove", "take a member off (admin only)");
  channel_remove->add_option("NAME", channel_name, "the channel")->required();
  channel_remove->add_option("PEER", channel_args.member, "member name or fingerprint prefix")
      ->required();
  CLI::App* channel_leave = channel->add_subcommand("leave", "leave (the admin leaving closes it)");
  channel_leave->add_option("NAME", channel_name, "the channel")->required();
  CLI::App* channel_accept = channel->add_subcommand(
      "accept", "join a channel you were invited to by an unverified admin");
  channel_accept->add_option("NAME", channel_name, "the channel")->required();
  CLI::App* channel_decline = channel->add_subcommand("decline", "refuse such an invitation");
  channel_decline->add_option("NAME", channel_name, "the channel")->required();
  CLI::App* channel_list = channel->add_subcommand("list", "your channels");
  CLI::App* channel_roster =
      channel->add_subcommand("roster", "members, their state and the security code");
  channel_roster->add_option("NAME", channel_name, "the channel")->required();

  std::string duration;
  CLI::App* expire = app.add_subcommand("expire", "disappearing messages for a conversation");
  expire->add_option("TO", to, "contact name, fingerprint prefix or #channel")->required();
  expire->add_option("DURATION", duration, "30s, 10m, 2h, 7d, 1w ... or off")->required();
  std::string wav;
  CLI::App* talk = app.add_subcommand("talk", "transmit a recording as one PTT transmission");
  talk->add_option("CHANNEL", channel_name, "the channel (#NAME or NAME)")->required();
  talk->add_option("--wav", wav, "the recording (any WAV: converted to 48 kHz mono)")->required();
  std::string message_id;
  std::string ogg;
  CLI::App* play =
      app.add_subcommand("play", "write an archived voice clip to an Ogg Opus or WAV file");
  play->add_option("MSGID", message_id, "the clip's message id (or its first hex digits)")
      ->required();
  CLI::Option* play_wav = play->add_option("--wav", wav, "the WAV file to write (decoded)");
  CLI::Option* play_ogg =
      play->add_option("--ogg", ogg, "the Ogg Opus file to write (the packets, not re-encoded)");
  play_wav->excludes(play_ogg);

  std::string mailbox_node;
  CLI::App* mailbox = app.add_subcommand("mailbox", "your mailbox: use one, or see its state");
  CLI::App* mailbox_use =
      mailbox->add_subcommand("use", "hold my mail at NODE while I am away (NODE must be online)");
  mailbox_use->add_option("NODE", mailbox_node, "contact name, peer name or fingerprint prefix")
      ->required();
  CLI::App* mailbox_off = mailbox->add_subcommand("off", "use no mailbox any more");
  mailbox->add_subcommand("status", "your mailbox; serving as one, its users, quota and backlog");

  CLI::App* audio = app.add_subcommand("audio", "sound devices (no profile needed)");
  audio->require_subcommand(1);
  CLI::App* audio_devices = audio->add_subcommand("devices", "list capture and playback devices");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sotto: %s\n", display_text(e.what()).c_str());
    return kExitUsage;
  }

  if (*init) return run_init(options, name, kdf_name);
  if (*id) return run_id(options);
  if (*wipe) return run_wipe(options, wipe_yes);
  if (*passwd) return run_passwd(options, new_passphrase_file);
  if (*daemon) return run_daemon(options, node_args);
  if (*lock) return run_lock(options);
  if (*unlock) return run_unlock(options);
  if (*peers) return run_peers(options);
  if (*events) return run_events(options);
  if (*stats) return run_stats(options);
  if (*add) return run_add(options, peer, contact_name);
  if (*verify) return run_verify(options, to, confirm);
  if (*replace) return run_replace(options, replaced, replacement);
  if (*send) return run_send(options, to, text);
  if (*history) return run_history(options, to, limit);
  if (*contacts) return run_contacts(options);
  if (*search) return run_search(options, query, search_in, search_limit);
  if (*export_cmd) return run_export(options, export_args);
  for (CLI::App* sub : {channel_create, channel_invite, channel_remove, channel_leave,
                        channel_accept, channel_decline, channel_list, channel_roster}) {
    if (*sub) {
      return run_channel(options, sub->get_name(), channel_args);
    }
  }
  if (*talk) return run_talk(options, channel_name, wav);
  if (*expire) return run_expire(options, to, duration);
  if (*play) {
    if (!*play_ogg && !*play_wav) {
      std::fprintf(stderr, "sotto: play needs the file to write: --ogg FILE or --wav FILE\n");
      return kExitUsage;
    }
    return *play_ogg ? run_play(options, message_id, ogg, core::VoiceFileFormat::kOgg)
                     : run_play(options, message_id, wav, core::VoiceFileFormat::kWav);
  }
  if (*mailbox_use) return run_mailbox(options, "use", mailbox_node);
  if (*mailbox_off) return run_mailbox(options, "off", "");
  if (*mailbox) return run_mailbox(options, "status", "");
  if (*audio_devices) return run_audio_devices(options);
  return run_default(options, node_args);
}

}  // namespace sotto::cli
